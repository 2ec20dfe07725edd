import type { TswarmError } from '../errors.js';

/** The code of the TswarmError `fn` throws, or 'ok': lets a test compare outcomes in one table. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as TswarmError).code;
  }
  return 'ok';
}

/** The code of the TswarmError `p` rejects with, or 'ok' when it resolves. */
export async function rejectedCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e as TswarmError).code,
  );
}
