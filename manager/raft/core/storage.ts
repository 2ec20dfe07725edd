/**
 * The durable Raft log as the core reads it. The core only ever reads through this interface;
 * the node loop writes to the implementation (MemoryStorage here, the WAL-backed disk storage
 * elsewhere) what each Ready hands out, before calling advance().
 *
 * The log in storage is: a snapshot (possibly empty: index 0, term 0) followed by entries
 * snapshot.index+1 .. lastIndex(). The entry at the snapshot's index is gone, but its term is
 * still known (the snapshot's term), so term(firstIndex() - 1) always answers.
 */
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

export interface RaftStorage {
  /** The durable HardState and the configuration as of the latest snapshot. Called once, at start. */
  initialState(): InitialState;
  /**
   * Entries [lo, hi), in order, stopping early once their payload bytes would exceed maxBytes
   * (but always returning at least one entry when lo < hi). Throws CompactedError if
   * lo < firstIndex(), UnavailableError if hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The term of entry i, for firstIndex() - 1 <= i <= lastIndex(). Throws CompactedError below
   * that range and UnavailableError above it.
   */
  term(i: number): number;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot's index if there are no entries after it). */
  lastIndex(): number;
  /**
   * The most recent snapshot. May throw SnapshotTemporarilyUnavailableError while one is being
   * made; the leader then retries later.
   */
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  readonly code = 'RAFT_LOG_COMPACTED';
  constructor(index: number, firstIndex: number) {
    super(`raft log: index ${index} is compacted (first index ${firstIndex})`);
  }
}

export class UnavailableError extends Error {
  readonly code = 'RAFT_LOG_UNAVAILABLE';
  constructor(index: number, lastIndex: number) {
    super(`raft log: index ${index} is beyond the last index ${lastIndex}`);
  }
}

export class SnapshotTemporarilyUnavailableError extends Error {
  readonly code = 'RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE';
  constructor() {
    super('raft: snapshot is temporarily unavailable');
  }
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: [], learners: [] });

export function isEmptySnapshot(snapshot: Snapshot | undefined): boolean {
  return snapshot === undefined || snapshot.metadata.index === 0;
}
