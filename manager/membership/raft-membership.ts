/**
 * The part of the Raft node that membership changes use, declared here so the role manager and
 * the JoinRaft handler can be driven by a fake in unit tests. RaftNode satisfies it.
 */
export interface RaftMembership {
  /** The configuration this member has applied, and the index it has applied up to. */
  status(): { voters: string[]; learners: string[]; applied: number };
  learnerCaughtUp(nodeId: string): boolean;
  proposeConfChange(change: {
    type: 'addVoter' | 'addLearner' | 'remove';
    nodeId: string;
    addr: string;
  }): Promise<unknown>;
  transferLeadership(to: string): Promise<void>;
  /**
   * On the leader: the voter best placed to take leadership over — one heard from in the current
   * round first, then the furthest caught up — or undefined when there is no other voter.
   */
  leadershipHeir(): string | undefined;
}
