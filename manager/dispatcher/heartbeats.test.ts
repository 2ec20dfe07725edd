import { describe, expect, it } from 'vitest';
import { NodeState } from '../../gen/tswarm/v1/objects.js';
import { HeartbeatTracker, MISSED_HEARTBEATS_MAX, UNKNOWN_AFTER_LEADER_CHANGE } from './heartbeats.js';

describe('HeartbeatTracker', () => {
  const period = 1_000;

  it('marks a beating node READY and a silent one DOWN after three missed beats', () => {
    const t = new HeartbeatTracker(0);
    t.beat('a', 100);
    expect(t.changes([{ nodeId: 'a', state: NodeState.NODE_STATE_UNKNOWN }], 100, period)).toEqual([
      { nodeId: 'a', state: NodeState.NODE_STATE_READY, message: '' },
    ]);
    expect(t.changes([{ nodeId: 'a', state: NodeState.NODE_STATE_READY }], 3_100, period)).toEqual([]);
    const down = t.changes([{ nodeId: 'a', state: NodeState.NODE_STATE_READY }], 3_101, period);
    expect(down).toHaveLength(1);
    expect(down[0]!.state).toBe(NodeState.NODE_STATE_DOWN);
    expect(down[0]!.message).toContain('heartbeat failure');
  });

  it('makes a node not heard from since the leader’s start UNKNOWN, DOWN after twice the deadline, as SwarmKit does', () => {
    const t = new HeartbeatTracker(10_000);
    const ready = [{ nodeId: 'b', state: NodeState.NODE_STATE_READY }];
    // Until it reaches this leader it is UNKNOWN: no new task is placed there.
    expect(t.changes(ready, 10_000, period)).toEqual([
      { nodeId: 'b', state: NodeState.NODE_STATE_UNKNOWN, message: UNKNOWN_AFTER_LEADER_CHANGE },
    ]);
    const unknown = [{ nodeId: 'b', state: NodeState.NODE_STATE_UNKNOWN }];
    // Past one deadline (13 s) it may still be finding the new leader; past two, it is down.
    expect(t.changes(unknown, 10_000 + MISSED_HEARTBEATS_MAX * period * 2, period)).toEqual([]);
    expect(t.changes(unknown, 10_001 + MISSED_HEARTBEATS_MAX * period * 2, period)[0]!.state).toBe(
      NodeState.NODE_STATE_DOWN,
    );
    // Its first beat here makes it READY at once.
    t.beat('b', 11_000);
    expect(t.changes(unknown, 11_000, period)[0]!.state).toBe(NodeState.NODE_STATE_READY);
    // A node that joined after this leader began was admitted READY by it: it stays so.
    const joined = [{ nodeId: 'new', state: NodeState.NODE_STATE_READY }];
    expect(t.changes(joined, 11_500, period)).toEqual([]);
    // Once it has beaten here, the normal deadline counts from its last beat.
    t.beat('b', 20_000);
    expect(t.changes(ready, 20_000 + MISSED_HEARTBEATS_MAX * period, period)).toEqual([]);
    expect(t.changes(ready, 20_001 + MISSED_HEARTBEATS_MAX * period, period)[0]!.state).toBe(NodeState.NODE_STATE_DOWN);
  });

  it('brings a DOWN node back to READY when it beats again, writing nothing while unchanged', () => {
    const t = new HeartbeatTracker(0);
    t.beat('c', 50_000);
    expect(t.changes([{ nodeId: 'c', state: NodeState.NODE_STATE_DOWN }], 50_001, period)[0]!.state).toBe(
      NodeState.NODE_STATE_READY,
    );
    expect(t.changes([{ nodeId: 'c', state: NodeState.NODE_STATE_DOWN }], 60_000, period)).toEqual([]);
  });
});
