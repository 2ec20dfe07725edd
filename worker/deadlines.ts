/** How long a node waits for a manager to answer a one-off call (join, renewal, Raft join). */
export const MANAGER_CALL_DEADLINE_MS = 15_000;
/**
 * How long a leaving manager waits for the leader to take it out of Raft. Shorter than a Raft
 * join: `leave --force` is often run on a cluster that has lost its leader, and then goes on.
 */
export const LEAVE_RAFT_DEADLINE_MS = 10_000;
