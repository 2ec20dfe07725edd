import type { RaftMembership } from '../raft-membership.js';

type Change = Parameters<RaftMembership['proposeConfChange']>[0];

/**
 * Raft membership as plain lists: a proposed change is recorded and applied at once, and the
 * test says which learners have caught up.
 */
export class FakeRaft implements RaftMembership {
  readonly proposed: Change[] = [];
  readonly transfers: string[] = [];
  readonly caughtUp = new Set<string>();
  /** The next change is dropped, as the leader does while another is in flight: recorded, not applied. */
  dropNext = false;

  constructor(
    public voters: string[],
    public learners: string[] = [],
  ) {}

  /** Rises with every change, as a real member's applied index would. */
  applied = 10;

  status(): { voters: string[]; learners: string[]; applied: number } {
    return { voters: [...this.voters], learners: [...this.learners], applied: this.applied };
  }

  learnerCaughtUp(nodeId: string): boolean {
    return this.learners.includes(nodeId) && this.caughtUp.has(nodeId);
  }

  async proposeConfChange(change: Change): Promise<void> {
    this.proposed.push(change);
    // A dropped change still takes an index: the leader appends it as an empty entry.
    this.applied++;
    if (this.dropNext) {
      this.dropNext = false;
      return;
    }
    const others = (ids: string[]) => ids.filter((id) => id !== change.nodeId);
    this.voters = others(this.voters);
    this.learners = others(this.learners);
    if (change.type === 'addVoter') this.voters.push(change.nodeId);
    if (change.type === 'addLearner') this.learners.push(change.nodeId);
  }

  /** The heir the test names; by default the first voter other than the leader. */
  heir: string | undefined;
  /** The member this fake is (the role manager's own node in the tests). */
  self = 'm1';

  leadershipHeir(): string | undefined {
    return this.heir ?? this.voters.find((v) => v !== this.self);
  }

  async transferLeadership(to: string): Promise<void> {
    this.transfers.push(to);
  }
}
