import { describe, expect, it } from 'vitest';
import { NodeState } from '../../gen/tswarm/v1/objects.js';
import { HeartbeatTracker } from './heartbeats.js';

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

  it('gives every node a full deadline from the leader’s start before calling it down', () => {
    const t = new HeartbeatTracker(10_000);
    expect(t.changes([{ nodeId: 'b', state: NodeState.NODE_STATE_READY }], 12_000, period)).toEqual([]);
    expect(t.changes([{ nodeId: 'b', state: NodeState.NODE_STATE_READY }], 13_001, period)[0]!.state).toBe(
      NodeState.NODE_STATE_DOWN,
    );
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
