/**
 * Calls without a certificate (the join endpoints) are the only ones anyone on the network can
 * make, so they are rate-limited per source address before any work is done for them: a token
 * bucket per source host (a burst, then a steady rate), in a map of bounded size that evicts the
 * source seen least recently. Members (callers with a certificate) are never limited here, and
 * neither is a call a follower forwarded: it was admitted by the manager it first reached, and
 * the leader sees only that manager's address.
 */
import type { Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';

export interface AnonymousLimits {
  /** Calls a new source may make at once: a join takes two (the root CA, then the certificate). */
  burst: number;
  /** Calls per second a source regains, up to `burst`. */
  perSecond: number;
  /** Sources remembered; beyond it the least recently seen is forgotten (it starts afresh). */
  sourcesMax: number;
}

/** A few joins at once per address (retries included), then one call every 2 s. */
export const ANONYMOUS_LIMITS_DEFAULT: AnonymousLimits = { burst: 10, perSecond: 0.5, sourcesMax: 4096 };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class AnonymousRateLimiter {
  /** Insertion order is recency order: a source seen is moved to the end, the first is evicted. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: AnonymousLimits = ANONYMOUS_LIMITS_DEFAULT,
  ) {}

  /** Takes one call from `peer`'s bucket, or refuses it with RESOURCE_EXHAUSTED. */
  admit(peer: string): void {
    const source = sourceHost(peer);
    const nowMs = this.clock.nowMs();
    const { burst, perSecond, sourcesMax } = this.limits;
    const held = this.buckets.get(source);
    const tokens = held ? Math.min(burst, held.tokens + ((nowMs - held.atMs) / 1000) * perSecond) : burst;
    this.buckets.delete(source);
    if (tokens < 1) {
      // Refused calls leave the bucket as it was (only its recency changes): the refill is counted
      // from the last admitted call, without the rounding of many small steps.
      if (held) this.buckets.set(source, held);
      const waitS = Math.ceil((1 - tokens) / perSecond);
      throw new TswarmError(
        'RESOURCE_EXHAUSTED',
        `too many calls without a certificate from ${source}. Try again in ${waitS} s`,
      );
    }
    this.buckets.set(source, { tokens: tokens - 1, atMs: nowMs });
    while (this.buckets.size > sourcesMax) this.buckets.delete(this.buckets.keys().next().value!);
  }

  sources(): number {
    return this.buckets.size;
  }
}

/** The host part of a grpc-js peer ("ipv4:10.0.0.1:5000", "10.0.0.1:5000", "[::1]:5000"): one bucket per host, not per connection. */
export function sourceHost(peer: string): string {
  const bare = peer.replace(/^(ipv4|ipv6|unix):/, '');
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(bare);
  if (bracketed) return bracketed[1]!;
  const hostPort = /^([^:]+):\d+$/.exec(bare);
  return hostPort ? hostPort[1]! : bare;
}
