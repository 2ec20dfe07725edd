/**
 * The data Raft is made of, shared by the pure core, the WAL, snapshots and the transport.
 * Names follow the Raft paper and etcd-io/raft. A member's ID is its node ID, so logs and
 * membership read in the cluster's own names (docs/raft.md).
 * Indexes and terms are plain numbers: 2^53 entries is beyond any cluster's lifetime.
 */
export type NodeId = string;

/** "No node": no vote cast, no leader known. */
export const NONE: NodeId = '';

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** For 'normal': an application command (may be empty: a new leader's no-op). For 'confChange': an encoded ConfChange. */
  data: Uint8Array;
}

/** What must be durable before a vote is sent or an entry acknowledged. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The serialized state machine at metadata.index. */
  data: Uint8Array;
}

export type ConfChangeType = 'addVoter' | 'addLearner' | 'remove';

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** The member's advertise address (host:port); empty for removal. */
  addr: string;
}
