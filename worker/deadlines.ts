/** How long a node waits for a manager to answer a one-off call (join, renewal, Raft join). */
export const MANAGER_CALL_DEADLINE_MS = 15_000;
