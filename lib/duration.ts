import { TswarmError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses Docker/Go-style durations: "500ms", "10s", "1h30m", "90d", "2160h0m0s". */
export function parseDurationMs(text: string, flag: string): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new TswarmError('USAGE', `invalid ${flag} "${text}". Use a duration such as 500ms, 10s, 5m, 1h30m or 90d`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
}

export function formatDurationMs(ms: number): string {
  if (ms % UNIT_MS['d']! === 0 && ms >= UNIT_MS['d']!) return `${ms / UNIT_MS['d']!}d`;
  if (ms % UNIT_MS['h']! === 0 && ms >= UNIT_MS['h']!) return `${ms / UNIT_MS['h']!}h`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
