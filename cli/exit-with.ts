/** Ends the CLI with a command's own exit code (for `lab exec`), printing nothing more. */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
