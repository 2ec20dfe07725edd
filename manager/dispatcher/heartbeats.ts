import { NodeState } from '../../gen/tswarm/v1/objects.js';

/**
 * A node is DOWN after this many missed heartbeats: one lost or late beat (a GC pause, a busy
 * link) must not mark a live node down, yet a dead one is noticed within a few periods
 * (docs/architecture.md, Timing defaults).
 */
export const MISSED_HEARTBEATS_MAX = 3;
/**
 * A node that has not reached this leader yet (no beat, no session since it began leading) gets
 * this many times the deadline, as SwarmKit gives nodes "unknown" to a new leader: after a
 * failover each worker must notice the old leader is gone and find the new one through its
 * managers, which takes longer than a beat — without it, a busy cluster's new leader marked
 * live workers DOWN and had their tasks replaced.
 */
export const UNKNOWN_NODE_GRACE_MULTIPLIER = 2;

export interface NodeLiveness {
  nodeId: string;
  state: NodeState;
}

export interface StateChange {
  nodeId: string;
  state: NodeState.NODE_STATE_READY | NodeState.NODE_STATE_UNKNOWN | NodeState.NODE_STATE_DOWN;
  message: string;
}

/** What `node ls` says of a node a new leader has not heard from yet (SwarmKit's words). */
export const UNKNOWN_AFTER_LEADER_CHANGE = 'node moved to unknown state due to leadership change';

/**
 * Heartbeats live only in the leader's memory; only a change of a node's state (Ready ↔ Down)
 * is written to Raft. A new leader starts every node's clock at its own start, so it does not
 * declare the whole cluster down for beats that went to its predecessor, and gives the nodes it
 * has not heard from yet UNKNOWN_NODE_GRACE_MULTIPLIER deadlines to find it. Meanwhile such a node
 * is UNKNOWN, as in SwarmKit: the scheduler places new tasks only on READY nodes, so the tasks of
 * a scale made right after a failover do not go to a node that may be the dead leader itself (it
 * would wait for its DOWN to be placed again); the orchestrator replaces tasks only on DOWN nodes,
 * so what runs on an UNKNOWN node is left alone.
 */
export class HeartbeatTracker {
  private lastBeatMs = new Map<string, number>();
  /**
   * The nodes the store held when this leader began: only those are made UNKNOWN until they beat.
   * A node that joins later was just admitted by this leader's cluster and is READY already.
   */
  private atStart: ReadonlySet<string> | undefined;

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
    this.atStart ??= new Set(nodes.map((n) => n.nodeId));
    const out: StateChange[] = [];
    for (const n of nodes) {
      const last = this.lastBeatMs.get(n.nodeId) ?? this.startedMs;
      const beatSeen = this.lastBeatMs.has(n.nodeId);
      const alive = nowMs - last <= (beatSeen ? deadlineMs : deadlineMs * UNKNOWN_NODE_GRACE_MULTIPLIER);
      if (alive && beatSeen && n.state !== NodeState.NODE_STATE_READY)
        out.push({ nodeId: n.nodeId, state: NodeState.NODE_STATE_READY, message: '' });
      if (alive && !beatSeen && n.state === NodeState.NODE_STATE_READY && this.atStart.has(n.nodeId))
        out.push({ nodeId: n.nodeId, state: NodeState.NODE_STATE_UNKNOWN, message: UNKNOWN_AFTER_LEADER_CHANGE });
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
