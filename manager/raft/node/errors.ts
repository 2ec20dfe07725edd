/** Errors of the node loop, each with a stable code (lib/errors.ts) so they survive gRPC. */
import { TswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../core/types.js';

/**
 * This member cannot take the request because it is not the leader. `leaderId` is empty while
 * an election is under way; otherwise the caller should retry at the leader.
 */
export class NotLeaderError extends TswarmError {
  constructor(
    readonly leaderId: NodeId,
    readonly leaderAddr: string | undefined,
  ) {
    super(
      leaderId === '' ? 'UNAVAILABLE' : 'FAILED_PRECONDITION',
      leaderId === ''
        ? 'raft: there is no leader right now (an election is under way). Retry shortly'
        : `raft: this member is not the leader; the leader is ${leaderId} at ${leaderAddr ?? 'an unknown address'}. Retry there`,
    );
  }
}

/** A proposal whose fate is unknown (leadership lost) or that was replaced in the log. Retry with the same sequence number. */
export function proposalLost(why: string): TswarmError {
  return new TswarmError(
    'UNAVAILABLE',
    `raft: proposal ${why}; its outcome is unknown. Retry it (a retried command is applied at most once)`,
  );
}

export function nodeStopped(): TswarmError {
  return new TswarmError('UNAVAILABLE', 'raft: this member is stopping. Retry against another member');
}
