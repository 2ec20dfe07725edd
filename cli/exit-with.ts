/** Ends the CLI with a command's own exit code (for `lab exec`), printing nothing more. */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Docker's `run` exit code for a failure of tswarm itself (usage included), not of the container. */
export const EXIT_RUN_ENGINE_ERROR = 125;
