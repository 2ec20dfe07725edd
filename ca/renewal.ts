import type { Random } from '../lib/random.js';
import { BACKDATE_MS } from './limits.js';

/**
 * When to renew a node certificate: at a random point between 50 % and 80 % of its life
 * (docs/security.md), so a fleet issued at once does not renew at once. The life counts from
 * issuance, not from the backdated notBefore.
 */
export const RENEW_FRACTION_MIN = 0.5;
export const RENEW_FRACTION_MAX = 0.8;
const FRACTION_STEPS = 10_000;

export function renewalDelayMs(notBeforeMs: number, notAfterMs: number, nowMs: number, random: Random): number {
  const issuedMs = Math.min(notBeforeMs + BACKDATE_MS, notAfterMs);
  const lifeMs = notAfterMs - issuedMs;
  const fraction =
    RENEW_FRACTION_MIN + ((RENEW_FRACTION_MAX - RENEW_FRACTION_MIN) * random.int(FRACTION_STEPS + 1)) / FRACTION_STEPS;
  return Math.max(0, Math.round(issuedMs + lifeMs * fraction - nowMs));
}
