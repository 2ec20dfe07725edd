import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { PendingProposals, PendingReads } from './pending.js';

describe('pending proposals and reads', () => {
  it('resolves a proposal applied in its term and rejects one overwritten by another term', async () => {
    const p = new PendingProposals<string>(new ManualClock(), 10, 1000);
    const mine = p.add(5, 2);
    const lost = p.add(6, 2);
    p.applied(5, 2, 'ok');
    p.applied(6, 3, 'someone else');
    await expect(mine).resolves.toBe('ok');
    await expect(lost).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(p.size).toBe(0);
  });

  it('times proposals out and bounds how many wait', async () => {
    const clock = new ManualClock();
    const p = new PendingProposals<string>(clock, 2, 1000);
    const a = p.add(1, 1);
    p.add(2, 1).catch(() => undefined);
    expect(() => p.checkCapacity()).toThrow(/2 proposals already waiting/);
    clock.advance(1000);
    await expect(a).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(p.size).toBe(0);
    expect(() => p.checkCapacity()).not.toThrow();
  });

  it('serves a read only once applied reaches its index', async () => {
    const clock = new ManualClock();
    const r = new PendingReads(clock, 'n1', 10, 1000);
    const ctx1 = r.nextCtx();
    const ctx2 = r.nextCtx();
    expect(ctx1).not.toBe(ctx2);
    let served = false;
    const first = r.add(ctx1, () => new Error('late')).then(() => (served = true));
    const second = r.add(ctx2, () => new Error('no leader'));
    r.confirmed(ctx1, 10);
    r.serve(9);
    await Promise.resolve();
    expect(served).toBe(false);
    r.serve(10);
    await first;
    clock.advance(1000);
    await expect(second).rejects.toThrow('no leader');
    expect(r.size).toBe(0);
  });

  it('names unconfirmed reads due for sending: never sent, or unanswered long enough; a leader change fails them', async () => {
    const clock = new ManualClock();
    const r = new PendingReads(clock, 'n1', 10, 5000);
    const a = r.nextCtx();
    const b = r.nextCtx();
    void r.add(a, () => new Error('a')).catch(() => undefined);
    void r.add(b, () => new Error('b')).catch(() => undefined);
    expect(r.dueForSending(500)).toEqual([a, b]);
    r.sent(a);
    r.sent(b);
    expect(r.dueForSending(500)).toEqual([]);
    clock.advance(499);
    expect(r.dueForSending(500)).toEqual([]);
    r.confirmed(b, 7);
    clock.advance(1);
    expect(r.dueForSending(500)).toEqual([a]);
    r.sent(a);
    // A second confirmation does not move the first.
    r.confirmed(b, 9);
    r.serve(7);
    expect(r.size).toBe(1);
    const c = r.nextCtx();
    const pending = r.add(c, () => new Error('late'));
    r.rejectUnconfirmed(new Error('leader changed'));
    await expect(pending).rejects.toThrow('leader changed');
    expect(r.size).toBe(0);
  });
});
