import { TswarmError } from '../../lib/errors.js';

/** Go's time.Duration, in which Docker's swarm spec carries its durations. */
export const NS_PER_MS = 1_000_000;

/** A flag that takes a whole number above 0 (`--snapshot-interval`, `--election-ticks`). */
export function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) === 0)
      throw new TswarmError('USAGE', `invalid ${flag} "${v}". Use a whole number above 0`);
    return Number(v);
  };
}

/** `--task-history-limit`: a whole number of tasks kept per slot (0 keeps only each slot's newest). */
export function parseTaskHistoryLimit(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new TswarmError('USAGE', `invalid --task-history-limit "${v}". Use a whole number of tasks, e.g. 5`);
  return Number(v);
}
