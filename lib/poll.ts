import { TswarmError } from './errors.js';

export interface WaitOptions {
  /** What is being waited for, in words, for the timeout error. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Bounded polling: calls `probe` until it returns a value other than undefined/false, or fails
 * with DEADLINE_EXCEEDED naming what never happened and the last probe error seen.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const intervalMs = options.intervalMs ?? 50;
  const deadlineMs = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadlineMs) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new TswarmError(
        'DEADLINE_EXCEEDED',
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}`,
        {
          cause: lastError,
        },
      );
    }
    await sleep(intervalMs);
  }
}
