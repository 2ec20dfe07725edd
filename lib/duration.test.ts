import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.js';

describe('durations', () => {
  it('parses Docker/Go forms', () => {
    expect(parseDurationMs('500ms', 'x')).toBe(500);
    expect(parseDurationMs('1h30m', 'x')).toBe(5_400_000);
    expect(parseDurationMs('2160h0m0s', 'x')).toBe(90 * 86_400_000);
    expect(parseDurationMs('90d', 'x')).toBe(90 * 86_400_000);
    expect(parseDurationMs('1.5s', 'x')).toBe(1500);
  });

  it('refuses anything else with the flag named', () => {
    for (const bad of ['', '10', '10x', '1h foo', '-1s'])
      expect(() => parseDurationMs(bad, '--cert-expiry')).toThrow(/invalid --cert-expiry/);
  });

  it('formats back compactly', () => {
    expect(formatDurationMs(90 * 86_400_000)).toBe('90d');
    expect(formatDurationMs(3_600_000)).toBe('1h');
    expect(formatDurationMs(1500)).toBe('1500ms');
  });
});
