import { asTswarmError } from '../../lib/errors.js';
import { errorLine } from '../errors.js';

/**
 * Docker's inspect of several names: what was found is shown (`[]` when nothing was), each name
 * that failed is an error line on `warn`, and the command fails with the last failure, reported
 * like any command's error.
 */
export async function inspectEach<T>(
  refs: readonly string[],
  fetch: (ref: string) => Promise<T>,
  show: (found: T[]) => void,
  warn: (text: string) => void = (t) => process.stderr.write(t),
): Promise<void> {
  const settled = await Promise.allSettled(refs.map(fetch));
  const found = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.flatMap((r) => (r.status === 'rejected' ? [asTswarmError(r.reason)] : []));
  show(found);
  for (const err of failed.slice(0, -1)) warn(errorLine(err.message));
  const last = failed.at(-1);
  if (last) throw last;
}
