import { NodeState } from '../../gen/tswarm/v1/objects.js';

/**
 * A node is DOWN after this many missed heartbeats: one lost or late beat (a GC pause, a busy
 * link) must not mark a live node down, yet a dead one is noticed within a few periods
 * (docs/architecture.md, Timing defaults).
 */
export const MISSED_HEARTBEATS_MAX = 3;

export interface NodeLiveness {
  nodeId: string;
  state: NodeState;
}

export interface StateChange {
  nodeId: string;
  state: NodeState.NODE_STATE_READY | NodeState.NODE_STATE_DOWN;
  message: string;
}

/**
 * Heartbeats live only in the leader's memory; only a change of a node's state (Ready ↔ Down)
 * is written to Raft. A new leader starts every node's clock at its own start, so it does not
 * declare the whole cluster down for beats that went to its predecessor.
 */
export class HeartbeatTracker {
  private lastBeatMs = new Map<string, number>();

  constructor(private readonly startedMs: number) {}

  beat(nodeId: string, nowMs: number): void {
    this.lastBeatMs.set(nodeId, nowMs);
  }

  forget(nodeId: string): void {
    this.lastBeatMs.delete(nodeId);
  }

  /** The state changes due now, given the store's view of each node. Pure apart from the map. */
  changes(nodes: readonly NodeLiveness[], nowMs: number, periodMs: number): StateChange[] {
    const deadlineMs = periodMs * MISSED_HEARTBEATS_MAX;
    const out: StateChange[] = [];
    for (const n of nodes) {
      const last = this.lastBeatMs.get(n.nodeId) ?? this.startedMs;
      const alive = nowMs - last <= deadlineMs;
      const beatSeen = this.lastBeatMs.has(n.nodeId);
      if (alive && beatSeen && n.state !== NodeState.NODE_STATE_READY)
        out.push({ nodeId: n.nodeId, state: NodeState.NODE_STATE_READY, message: '' });
      if (!alive && n.state !== NodeState.NODE_STATE_DOWN) {
        out.push({
          nodeId: n.nodeId,
          state: NodeState.NODE_STATE_DOWN,
          message: `heartbeat failure: none for ${Math.round((nowMs - last) / 1000)} s`,
        });
      }
    }
    return out;
  }
}
