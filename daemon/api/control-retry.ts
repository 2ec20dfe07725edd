import type { Clock } from '../../lib/clock.js';
import { asTswarmError } from '../../lib/errors.js';

/**
 * A control call that fails with UNAVAILABLE (no leader yet, the leader died with the call in
 * flight, the manager is restarting) is tried again for a while with the same request ID: a
 * write that did reach the store is then answered with its first result, never applied twice
 * (manager/store/applied-requests.ts). A default election takes 1–2 s; the window leaves room
 * for one, a forwarded call's failure and the retry. It opens at the first failure, not at the
 * first attempt: a leader that went dark (power lost, cut off) fails a forwarded call only at
 * the forward's deadline, long after its successor was elected — the retry is what finds it.
 */
export const CONTROL_RETRY_WINDOW_MS = 6_000;
const CONTROL_RETRY_BACKOFF_MS_FIRST = 100;
const CONTROL_RETRY_BACKOFF_MS_MAX = 1_000;

/**
 * Runs `attempt` until it succeeds, fails otherwise than UNAVAILABLE, or `windowMs` has passed
 * since its first UNAVAILABLE failure.
 */
export async function retryWhileUnavailable<T>(
  attempt: () => Promise<T>,
  clock: Clock,
  windowMs = CONTROL_RETRY_WINDOW_MS,
): Promise<T> {
  let deadlineMs: number | undefined;
  let backoffMs = CONTROL_RETRY_BACKOFF_MS_FIRST;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const e = asTswarmError(err);
      if (e.code !== 'UNAVAILABLE') throw e;
      deadlineMs ??= clock.nowMs() + windowMs;
      if (clock.nowMs() + backoffMs > deadlineMs) throw e;
    }
    await new Promise<void>((resolve) => clock.setTimer(backoffMs, resolve));
    backoffMs = Math.min(backoffMs * 2, CONTROL_RETRY_BACKOFF_MS_MAX);
  }
}
