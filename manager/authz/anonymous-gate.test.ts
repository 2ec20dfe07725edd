import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { AnonymousRateLimiter, sourceHost } from './anonymous-gate.js';

function refusal(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    expect((err as TswarmError).code).toBe('RESOURCE_EXHAUSTED');
    return (err as Error).message;
  }
}

describe('AnonymousRateLimiter', () => {
  it('admits a burst per source, then refuses until the bucket refills at the steady rate', () => {
    const clock = new ManualClock(1_000);
    const limiter = new AnonymousRateLimiter(clock, { burst: 3, perSecond: 0.5, sourcesMax: 10 });
    for (let i = 0; i < 3; i++) expect(refusal(() => limiter.admit('ipv4:10.0.0.1:4000'))).toBeUndefined();
    expect(refusal(() => limiter.admit('ipv4:10.0.0.1:4001'))).toMatch(/from 10\.0\.0\.1\. Try again in 2 s/);
    // Another source has its own bucket.
    expect(refusal(() => limiter.admit('10.0.0.2:4000'))).toBeUndefined();
    clock.advance(1_999);
    expect(refusal(() => limiter.admit('10.0.0.1:5000'))).toBeDefined();
    clock.advance(1);
    expect(refusal(() => limiter.admit('10.0.0.1:5000'))).toBeUndefined();
    expect(refusal(() => limiter.admit('10.0.0.1:5000'))).toBeDefined();
    // A long pause refills to the burst, not beyond it.
    clock.advance(3_600_000);
    for (let i = 0; i < 3; i++) expect(refusal(() => limiter.admit('10.0.0.1:1'))).toBeUndefined();
    expect(refusal(() => limiter.admit('10.0.0.1:1'))).toBeDefined();
  });

  it('refused calls do not postpone the refill (a hammering source gets the steady rate, no less)', () => {
    const clock = new ManualClock();
    const limiter = new AnonymousRateLimiter(clock, { burst: 1, perSecond: 1, sourcesMax: 10 });
    limiter.admit('10.0.0.1:1');
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      expect(refusal(() => limiter.admit('10.0.0.1:1'))).toBeDefined();
    }
    clock.advance(100);
    expect(refusal(() => limiter.admit('10.0.0.1:1'))).toBeUndefined();
  });

  it('remembers at most sourcesMax sources, forgetting the least recently seen', () => {
    const clock = new ManualClock();
    const limiter = new AnonymousRateLimiter(clock, { burst: 1, perSecond: 0.001, sourcesMax: 3 });
    for (const host of ['a', 'b', 'c']) limiter.admit(`${host}:1`);
    expect(refusal(() => limiter.admit('a:1'))).toBeDefined(); // a is now the most recent
    limiter.admit('d:1'); // evicts b
    expect(limiter.sources()).toBe(3);
    expect(refusal(() => limiter.admit('b:1'))).toBeUndefined(); // b starts afresh; evicts c
    expect(refusal(() => limiter.admit('a:1'))).toBeDefined();
    expect(refusal(() => limiter.admit('d:1'))).toBeDefined();
    expect(limiter.sources()).toBe(3);
  });
});

describe('sourceHost', () => {
  it.each([
    ['ipv4:10.0.0.1:5000', '10.0.0.1'],
    ['10.0.0.1:5000', '10.0.0.1'],
    ['ipv6:[::1]:5000', '::1'],
    ['[fe80::1]:443', 'fe80::1'],
    ['::1', '::1'],
    ['unix:/run/x.sock', '/run/x.sock'],
  ])('%s is the host %s', (peer, host) => {
    expect(sourceHost(peer)).toBe(host);
  });
});
