/** How a RaftNode is configured, and what it reports. Every limit has a default and a reason. */
import type { Clock } from '../../../lib/clock.js';
import type { BasicLogger, Logger } from '../../../lib/log.js';
import type { Random } from '../../../lib/random.js';
import type { SoftState } from '../core/rawnode.js';
import type { StateMachine } from '../core/state-machine.js';
import type { NodeId } from '../core/types.js';
import type { PeerLimits } from '../transport/peer.js';
import type { PeerCredentials } from '../transport/transport.js';
import type { AuthorizeSender } from '../transport/server.js';

export interface RaftNodeOptions<R> {
  id: NodeId;
  /** The member's raft directory (WAL + snapshots). */
  raftDir: string;
  /** Initial members (ID → raft address), this one included; used to bootstrap a fresh directory. */
  members: ReadonlyMap<NodeId, string>;
  stateMachine: StateMachine<R>;
  /**
   * A fresh directory joins an existing cluster (added by a conf change) instead of
   * bootstrapping one: it starts empty and receives the state from the leader as a snapshot.
   */
  join?: boolean;
  /** One credential for every peer, or one per peer (a manager checks each peer's certificate names it). */
  credentials: PeerCredentials;
  authorizeSender?: AuthorizeSender;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Snapshot (and compact) after this many entries applied since the last snapshot. */
  snapshotEveryEntries?: number;
  /**
   * The interval the replicated state asks for now (a manager reads its cluster spec, which
   * `swarm update --snapshot-interval` changes at run time); 0 or undefined: snapshotEveryEntries.
   */
  snapshotEveryEntriesNow?: () => number | undefined;
  /** Entries kept in memory behind a snapshot, so a slightly lagging follower needs no snapshot. */
  compactionLagEntries?: number;
  proposalTimeoutMs?: number;
  pendingProposalsMax?: number;
  readTimeoutMs?: number;
  /** An unconfirmed read is asked of the leader again after this long (a request or its answer may be lost). */
  readResendMs?: number;
  pendingReadsMax?: number;
  transportLimits?: Partial<PeerLimits>;
  /**
   * A follower fsyncs its WAL on the event loop rather than in the thread pool (wal.ts,
   * SaveOptions.blockingSync) when the save is small: faster commits at low load, but the loop
   * stops for each such fsync.
   * For a process that does nothing but Raft (the kvserver); a manager, whose loop also serves
   * the engine, the API and heartbeats, leaves it off.
   */
  blockingFollowerSync?: boolean;
  /**
   * Told of every change of this member's role or leader, after the Ready that brought it was
   * handled (manager/leadership/: leader-only components start and stop on it). Must not throw.
   * `leading: true` comes once the new leader has applied its log up to its own term's first
   * entry, so what it reads of the state machine holds everything its predecessors committed.
   */
  onRoleChange?: (role: { leading: boolean; term: number }) => void;
}

export interface NodeStatus {
  id: NodeId;
  term: number;
  leader: NodeId;
  leaderAddr: string | undefined;
  role: SoftState['raftState'];
  commit: number;
  applied: number;
  voters: NodeId[];
  learners: NodeId[];
}

export const DEFAULTS = {
  tickMs: 100, // 100 ms ticks, election after 10-20 ticks (docs/architecture.md, Timing defaults)
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotEveryEntries: 10_000, // bounds replay after a restart (docs/architecture.md, Timing defaults)
  compactionLagEntries: 1000,
  proposalTimeoutMs: 10_000,
  pendingProposalsMax: 10_000,
  readTimeoutMs: 5000,
  readResendMs: 500,
  pendingReadsMax: 10_000,
};

export function coreLogger(logger: Logger): BasicLogger {
  return logger.child({ part: 'core' });
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
