/**
 * The leader's view of the configuration and of every member's progress, plus the votes of an
 * election in progress. One configuration at a time (no joint consensus).
 */
import { assert } from '../../../lib/assert.js';
import { Progress } from './progress.js';
import { committedIndex, voteResult, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  /** One entry per voter and learner. */
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflightCount: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  /** A configuration of exactly one voter, which can decide alone. */
  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.maxInflightCount, this.maxInflightBytes);
  }

  /** Adds or moves `id` into the voters (promoting a learner keeps its progress). */
  addVoter(id: NodeId, next: number): void {
    this.learners.delete(id);
    this.voters.add(id);
    const pr = this.progress.get(id);
    if (pr) pr.isLearner = false;
    else this.progress.set(id, this.activeProgress(next, false));
  }

  addLearner(id: NodeId, next: number): void {
    this.voters.delete(id);
    this.learners.add(id);
    const pr = this.progress.get(id);
    if (pr) pr.isLearner = true;
    else this.progress.set(id, this.activeProgress(next, true));
  }

  private activeProgress(next: number, isLearner: boolean): Progress {
    const pr = this.newProgress(next, isLearner);
    // A new member counts as active, else a leader running check-quorum right after adding it
    // could step down before the newcomer had a chance to answer.
    pr.recentActive = true;
    return pr;
  }

  remove(id: NodeId): void {
    this.voters.delete(id);
    this.learners.delete(id);
    this.progress.delete(id);
  }

  /** The highest index replicated on a majority of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }

  /** Whether a majority of voters (counting `self`) was heard from since the last check. */
  quorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      assert(pr !== undefined, 'tracker: every voter has a progress');
      active.set(id, id === self || pr.recentActive);
    }
    return voteResult(this.voters, active) === 'won';
  }

  /** Members other than `self`, in a stable order so that output (and simulation) is deterministic. */
  peers(self: NodeId): NodeId[] {
    return [...this.progress.keys()].filter((id) => id !== self).sort();
  }
}
