import { TswarmError, asTswarmError } from '../../lib/errors.js';

/**
 * Docker's commands that act on several names (`volume rm a b`, `node rm`): every name is tried,
 * even after one fails. Each success prints a line (the name, unless `act` returns another); one
 * failure is the command's error as it is (its code, its exit status), several are one error
 * naming each. The same rule as the container commands' (cli/commands/container.ts).
 */
export async function eachRef(
  refs: readonly string[],
  /** What the names are, plural: "volumes", "nodes". */
  what: string,
  act: (ref: string) => Promise<string | void>,
  out: (text: string) => void,
): Promise<void> {
  const failures: string[] = [];
  let first: unknown;
  for (const ref of refs) {
    try {
      out(`${(await act(ref)) ?? ref}\n`);
    } catch (err) {
      first ??= err;
      failures.push(`${ref}: ${asTswarmError(err).message}`);
    }
  }
  if (failures.length === 1) throw first;
  if (failures.length > 1)
    throw new TswarmError('FAILED_PRECONDITION', `${failures.length} ${what} failed: ${failures.join('; ')}`);
}
