import { parseDurationMs } from '../../lib/duration.js';
import { TswarmError } from '../../lib/errors.js';

/**
 * A time flag as the docker CLI reads it (`--since`, `--until`): Unix seconds (maybe fractional),
 * an RFC 3339 time or date, or a duration before now ("42m", "1h30m"); the daemon takes Unix
 * seconds, which this gives.
 */
export function dockerTimestamp(value: string, nowMs: number, flag: string): string {
  const v = value.trim();
  if (/^\d{1,12}(\.\d{1,9})?$/.test(v)) return v;
  let ms: number;
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(v)) ms = nowMs - parseDurationMs(v, flag);
  else ms = Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0)
    throw new TswarmError(
      'USAGE',
      `invalid ${flag} "${value}". Give a time (2025-01-02T15:04:05Z), Unix seconds (1735830245) or a duration ago (42m)`,
    );
  return (ms / 1000).toFixed(3);
}
