import type { TswarmError } from '../lib/errors.js';

/**
 * How many consecutive heartbeats must be answered "removed" (NODE_REMOVED) before the node
 * believes it. A manager answers from its own replica of the store, and a follower that has not
 * yet applied this node's join would say the same of a node that just joined; the beats fail over
 * through the known managers, so the verdict is confirmed by more than one replica, seconds apart.
 */
export const REMOVED_CONFIRMATIONS = 3;

/** Counts consecutive "removed" answers to this node's heartbeats; any other answer resets it. */
export class RemovalDetector {
  private streak = 0;

  /** A beat was answered; true once the cluster has said "removed" often enough to believe it. */
  answered(err: TswarmError | undefined): boolean {
    this.streak = err?.code === 'NODE_REMOVED' ? this.streak + 1 : 0;
    return this.streak >= REMOVED_CONFIRMATIONS;
  }
}

/** What `tswarm info` says on a node the cluster removed, and the way back. */
export function removedMessage(nodeId: string): string {
  return `this node (${nodeId}) was removed from the swarm by a manager (\`tswarm node rm\`); it no longer heartbeats and its certificate is no longer accepted. To join again, run \`tswarm leave --force\`, then \`tswarm join\` with a new token`;
}
