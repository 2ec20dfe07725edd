import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { CONTROL_RETRY_WINDOW_MS, retryWhileUnavailable } from './control-retry.js';

/** Runs `p` to its end, moving the manual clock whenever it waits. */
async function run<T>(clock: ManualClock, p: Promise<T>): Promise<T | Error> {
  let settled = false;
  const out = p.then(
    (v) => v,
    (e: unknown) => e as Error,
  );
  void out.finally(() => (settled = true));
  while (!settled) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    clock.advance(50);
  }
  return out;
}

describe('retryWhileUnavailable', () => {
  it('tries again through a leader change, and the same call (same request ID) then succeeds', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    const requestId = 'req-1';
    let attempts = 0;
    const result = await run(
      clock,
      retryWhileUnavailable(async () => {
        seen.push(requestId);
        if (++attempts < 3) throw new TswarmError('UNAVAILABLE', 'no leader');
        return 'done';
      }, clock),
    );
    expect(result).toBe('done');
    expect(seen).toEqual(['req-1', 'req-1', 'req-1']);
  });

  it('opens the window at the first failure: a call that hung on a leader gone dark is still retried', async () => {
    const clock = new ManualClock(0);
    let attempts = 0;
    const result = await run(
      clock,
      retryWhileUnavailable(async () => {
        attempts++;
        if (attempts === 1) {
          // The forwarded call waits out its deadline: the dead leader never answers.
          await new Promise<void>((resolve) => clock.setTimer(15_000, resolve));
          throw new TswarmError('UNAVAILABLE', 'the leader does not answer');
        }
        return 'answered by the new leader';
      }, clock),
    );
    expect(result).toBe('answered by the new leader');
    expect(attempts).toBe(2);
  });

  it('gives up with the last error once the window has passed, and never retries other errors', async () => {
    const clock = new ManualClock(0);
    let attempts = 0;
    const lost = await run(
      clock,
      retryWhileUnavailable(async () => {
        attempts++;
        throw new TswarmError('UNAVAILABLE', 'the cluster has lost quorum');
      }, clock),
    );
    expect((lost as TswarmError).message).toContain('lost quorum');
    expect(clock.nowMs()).toBeLessThanOrEqual(CONTROL_RETRY_WINDOW_MS + 100);
    expect(attempts).toBeGreaterThan(3);
    attempts = 0;
    const refused = await run(
      clock,
      retryWhileUnavailable(async () => {
        attempts++;
        throw new TswarmError('CONFLICT', 'changed since read');
      }, clock),
    );
    expect((refused as TswarmError).code).toBe('CONFLICT');
    expect(attempts).toBe(1);
  });
});
