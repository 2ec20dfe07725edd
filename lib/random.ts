import { randomBytes } from 'node:crypto';

/** A source of randomness, injected so simulations replay exactly from a seed. */
export interface Random {
  /** A uniformly distributed integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  bytes(length: number): Uint8Array;
}

export const cryptoRandom: Random = {
  int(maxExclusive) {
    if (maxExclusive <= 0) throw new RangeError(`int: maxExclusive must be positive, got ${maxExclusive}`);
    const buf = randomBytes(6);
    return buf.readUIntBE(0, 6) % maxExclusive;
  },
  bytes: (length) => new Uint8Array(randomBytes(length)),
};

/**
 * A seeded generator (mulberry32): small, fast and good enough for simulation schedules. Not for
 * secrets.
 */
export class SeededRandom implements Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  int(maxExclusive: number): number {
    if (maxExclusive <= 0) throw new RangeError(`int: maxExclusive must be positive, got ${maxExclusive}`);
    return this.next32() % maxExclusive;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next32() & 0xff;
    return out;
  }
}
