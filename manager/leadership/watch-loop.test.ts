import { describe, expect, it } from 'vitest';
import { NOOP_LOGGER } from '../../lib/logger.js';
import { waitFor } from '../../lib/poll.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { WatchLoop, type RoundResult } from './watch-loop.js';

const until = (what: string, probe: () => boolean) => waitFor(probe, { what, timeoutMs: 5_000, intervalMs: 5 });

function loopOver(t: ReturnType<typeof testStore>, round: () => Promise<void | RoundResult>) {
  return new WatchLoop({ name: 'test', store: t.store, clock: t.clock, log: NOOP_LOGGER, kinds: ['node'], round });
}

describe('WatchLoop', () => {
  it('reconciles at start, then once per batch of changes, coalescing a burst', async () => {
    const t = testStore();
    await addCluster(t.store);
    let rounds = 0;
    const loop = loopOver(t, async () => void rounds++);
    const c = new AbortController();
    loop.start(c.signal);
    await until('the first round', () => rounds === 1);
    // Ten changes in one turn: applied before the loop's reader runs, so one round takes them all.
    await Promise.all(Array.from({ length: 10 }, (_, i) => addNode(t.store, { id: `n${i}` })));
    await until('a round after the changes', () => rounds >= 2);
    expect(rounds).toBeLessThan(11);
    c.abort();
    await loop.stop();
  });

  it('watches again after a snapshot restore ends its watch, and keeps reacting', async () => {
    const t = testStore();
    await addCluster(t.store);
    let rounds = 0;
    const loop = loopOver(t, async () => void rounds++);
    const c = new AbortController();
    loop.start(c.signal);
    await until('the first round', () => rounds === 1);
    t.replica.restore(t.replica.snapshot()); // ends every watch with RESYNC_REQUIRED
    await until('a round after the resync', () => rounds === 2);
    await addNode(t.store, { id: 'n1' });
    await until('a round after a change on the new watch', () => rounds === 3);
    c.abort();
    await loop.stop();
  });

  it('retries a failed round after the retry delay, without any change', async () => {
    const t = testStore();
    let calls = 0;
    const loop = loopOver(t, async () => {
      calls++;
      if (calls === 1) throw new Error('lost the proposal');
    });
    const c = new AbortController();
    loop.start(c.signal);
    await until('the failed round', () => calls === 1);
    t.clock.advance(499);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(1);
    t.clock.advance(1);
    await until('the retried round', () => calls === 2);
    expect(loop.rounds).toBe(1);
    c.abort();
    await loop.stop();
  });

  it('runs again at the time a round asked for (a delayed restart falling due), with no change', async () => {
    const t = testStore();
    let rounds = 0;
    const start = t.clock.nowMs();
    const loop = loopOver(t, async () => (++rounds === 1 ? { wakeAtMs: start + 5_000 } : {}));
    const c = new AbortController();
    loop.start(c.signal);
    await until('the first round', () => rounds === 1);
    t.clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(rounds).toBe(1);
    t.clock.advance(1);
    await until('the round it asked for', () => rounds === 2);
    // That round asked for nothing: the loop waits for changes only.
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(rounds).toBe(2);
    c.abort();
    await loop.stop();
  });

  it('stops when leadership is lost: no round after the abort', async () => {
    const t = testStore();
    await addCluster(t.store);
    let rounds = 0;
    const loop = loopOver(t, async () => void rounds++);
    const c = new AbortController();
    loop.start(c.signal);
    await until('the first round', () => rounds === 1);
    c.abort();
    await loop.stop();
    await addNode(t.store, { id: 'n1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(rounds).toBe(1);
  });
});
