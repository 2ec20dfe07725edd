/**
 * What the leader knows of one follower's log (Raft paper: matchIndex, nextIndex), plus the
 * replication mode the leader uses with it:
 * - probe: one MsgApp at a time until the follower's match is found (after a rejection or a
 *   new leadership), paused until a response or heartbeat response arrives;
 * - replicate: optimistic streaming, bounded by the in-flight window;
 * - snapshot: the entries the follower needs were compacted away; a snapshot is on its way and
 *   nothing else is sent until it is applied or reported failed.
 */
import { assert } from '../../../lib/assert.js';
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Invariant: match < next. */
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round; new members start active. */
  recentActive = false;
  /** In probe state: an append was sent, wait for a response before sending another. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  /** The highest commit index sent to this follower (so a new commit can be pushed promptly). */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, maxInflightCount: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightCount, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot: the follower has at least the snapshot, start after it.
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records that entries up to lastIndex were sent (optimistically advancing next in replicate). */
  sentEntries(count: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        const last = this.next + count - 1;
        this.next = last + 1;
        this.inflights.add(last, bytes);
      }
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    } else {
      assert(false, `progress: sending entries in state ${this.state}`);
    }
  }

  /** An acknowledgement up to n arrived. Returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower rejected an append at index `rejected`; `matchHint` is where it suggests
   * probing next. Returns false when the rejection is stale (out of order) and was ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // In replicate the rejection is stale if it is for an index we know matched.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe the rejection must be for the one append in flight (next - 1).
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether the follower may not know `committed` yet and a message may be sent to tell it. */
  canBumpCommit(committed: number): boolean {
    return !this.isPaused() && this.sentCommit < committed;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  describe(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.state === 'snapshot') s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.msgAppFlowPaused) s += ' paused';
    if (this.inflights.count() > 0) s += ` inflight=${this.inflights.count()}`;
    if (this.inflights.full()) s += '[full]';
    return s;
  }
}
