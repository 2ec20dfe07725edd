import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../lib/random.js';
import { BACKDATE_MS } from './limits.js';
import { renewalDelayMs } from './renewal.js';

const HOUR_MS = 3600 * 1000;

describe('renewal', () => {
  it('falls between 50 % and 80 % of the life counted from issuance', () => {
    const issued = 1_000_000_000;
    const life = 100 * HOUR_MS;
    const random = new SeededRandom(42);
    for (let i = 0; i < 200; i++) {
      const delay = renewalDelayMs(issued - BACKDATE_MS, issued + life, issued, random);
      expect(delay).toBeGreaterThanOrEqual(0.5 * life);
      expect(delay).toBeLessThanOrEqual(0.8 * life);
    }
    expect(renewalDelayMs(issued - BACKDATE_MS, issued + life, issued + life, random)).toBe(0);
  });
});
