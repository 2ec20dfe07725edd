/**
 * The replicated state machine: what committed entries are applied to. Every member applies
 * the same entries in the same order, so every member's state machine goes through the same
 * states (Raft's state machine safety).
 */
import { assert } from '../../../lib/assert.js';
import type { Entry } from './types.js';

export interface StateMachine<R = unknown> {
  /** Applies one committed normal entry's command; returns its result for the proposer. Must be deterministic. */
  apply(index: number, data: Uint8Array): R;
  /** The whole state, serialized (the data of a Raft snapshot). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}

/**
 * Feeds committed entries to a state machine synchronously, in order, exactly once: it
 * tracks the applied index and refuses gaps and repeats (an invariant, not an error to handle).
 */
export class Applier<R> {
  appliedIndex: number;

  constructor(
    readonly sm: StateMachine<R>,
    appliedIndex = 0,
  ) {
    this.appliedIndex = appliedIndex;
  }

  /** Applies a committed entry; returns the result for normal non-empty entries, else undefined. */
  apply(entry: Entry): R | undefined {
    assert(
      entry.index === this.appliedIndex + 1,
      `applier: entry ${entry.index} applied right after ${this.appliedIndex}`,
    );
    this.appliedIndex = entry.index;
    if (entry.type !== 'normal' || entry.data.length === 0) return undefined;
    return this.sm.apply(entry.index, entry.data);
  }

  /** Restores from a snapshot taken at index. */
  restore(index: number, data: Uint8Array): void {
    this.sm.restore(data);
    this.appliedIndex = index;
  }
}
