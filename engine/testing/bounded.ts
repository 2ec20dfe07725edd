import { waitFor } from '../../lib/poll.js';

/**
 * Test support: bounded waits instead of stopwatches. A test says "this settles within N ms" as a
 * wait for the outcome that fails with what never happened, never as a measured duration.
 */

/** The promise's value, or the test fails when it has not settled within `timeoutMs`. */
export async function settlesWithin<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (err: unknown) => (outcome = { ok: false, err }),
  );
  const settled = await waitFor(() => outcome, { what, timeoutMs, intervalMs: 10 });
  if (!settled.ok) throw settled.err;
  return settled.value;
}

/** True when the promise has not settled within `ms`: something that must still be waiting is. */
export async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    await waitFor(() => settled, { what: 'the promise to settle', timeoutMs: ms, intervalMs: 10 });
    return false;
  } catch {
    return true;
  }
}
