/**
 * Majority quorum math, kept apart from the rest so it can be tested exhaustively.
 * Only simple majorities: membership changes are one at a time (docs/raft.md), so a
 * configuration is never joint.
 */
import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters has matched. An empty configuration commits
 * nothing (etcd returns +inf so joint quorums compose; we have no joint quorums).
 */
export function committedIndex(voters: Iterable<NodeId>, matchOf: (id: NodeId) => number): number {
  const matched: number[] = [];
  for (const id of voters) matched.push(matchOf(id));
  if (matched.length === 0) return 0;
  matched.sort((a, b) => b - a);
  // The majority-th highest value is matched by at least a majority.
  return matched[majority(matched.length) - 1] ?? 0;
}

/** Tally of votes: won once a majority granted, lost once a majority can no longer grant. */
export function voteResult(voters: Iterable<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  let total = 0;
  for (const id of voters) {
    total++;
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  // An empty configuration wins trivially, matching etcd; callers never campaign without voters.
  if (total === 0) return 'won';
  const needed = majority(total);
  if (granted >= needed) return 'won';
  if (total - rejected < needed) return 'lost';
  return 'pending';
}
