import { describe, expect, it } from 'vitest';
import { eventTimeParam, eventWindow } from './times.js';

const q = (s: string) => new URLSearchParams(s);

describe('since and until of GET /events', () => {
  it('reads Unix seconds with a fraction of any precision, as dockerd does', () => {
    expect(eventTimeParam(q('since=1700000000'), 'since')).toBe(1_700_000_000_000_000_000n);
    expect(eventTimeParam(q('since=1700000000.5'), 'since')).toBe(1_700_000_000_500_000_000n);
    expect(eventTimeParam(q('since=1700000000.000000001'), 'since')).toBe(1_700_000_000_000_000_001n);
    expect(eventTimeParam(q('since='), 'since')).toBeUndefined();
    expect(eventTimeParam(q(''), 'until')).toBeUndefined();
  });

  it('refuses what is not a Unix time, and a since after the until', () => {
    expect(() => eventTimeParam(q('since=10m'), 'since')).toThrow(/since=10m is not a Unix time/);
    expect(() => eventTimeParam(q('until=-1'), 'until')).toThrow(/not a Unix time/);
    expect(() => eventWindow(q('since=20&until=10'))).toThrow(
      /`since` time \(20\) cannot be after `until` time \(10\)/,
    );
    expect(eventWindow(q('since=10&until=10'))).toEqual({ sinceNano: 10_000_000_000n, untilNano: 10_000_000_000n });
  });
});
