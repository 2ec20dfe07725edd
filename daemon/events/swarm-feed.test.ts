import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { NodeAvailability } from '../../gen/tswarm/v1/objects.js';
import { addNode, testStore } from '../../manager/store/testing/test-store.js';
import { waitFor } from '../../lib/poll.js';
import { EventBus } from './bus.js';
import { SwarmEventFeed } from './swarm-feed.js';

describe('SwarmEventFeed', () => {
  it('makes swarm events of the changes applied after it follows a manager, and stops with it', async () => {
    const { store, replica } = testStore(1_700_000_000_000);
    await addNode(store, { id: 'n0' }); // committed before: not told again
    const bus = new EventBus(new ManualClock(0));
    const feed = new SwarmEventFeed(bus, silentLogger());
    feed.follow({ replica, raftStatus: () => ({ commit: replica.version }) });
    await addNode(store, { id: 'n1', hostname: 'w1' });
    await store.update((tx) => {
      const n = replica.get('node', 'n1')!;
      tx.update('node', { ...n, spec: { ...n.spec!, availability: NodeAvailability.NODE_AVAILABILITY_DRAIN } });
    });
    await store.update((tx) => tx.remove('node', replica.get('node', 'n1')!));
    await waitFor(() => bus.recent().length === 3, { what: 'three swarm events', timeoutMs: 2_000 });
    const events = bus.recent();
    expect(events.map((e) => `${e.type} ${e.action} ${e.actor.id}`)).toEqual([
      'node create n1',
      'node update n1',
      'node remove n1',
    ]);
    expect(events.every((e) => e.scope === 'swarm')).toBe(true);
    expect(events[1]!.actor.attributes).toMatchObject({ 'availability.old': 'active', 'availability.new': 'drain' });
    expect(events[0]!.timeNano).toBe(1_700_000_000_000_000_000n);

    feed.follow(undefined);
    await addNode(store, { id: 'n2' });
    // Every microtask runs before setImmediate's callback: a feed still watching would have told n2 by then.
    await new Promise((r) => setImmediate(r));
    expect(bus.recent()).toHaveLength(3);
  });
});
