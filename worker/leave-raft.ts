import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { RaftMembershipServiceClient } from '../gen/tswarm/v1/raft.js';
import { TswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import { LEAVE_RAFT_DEADLINE_MS } from './deadlines.js';

/** Between attempts: about one round of the leader's membership reconciliation. */
const RETRY_AFTER_MS = 500;

export interface LeaveRaftRequest {
  /** A manager of the cluster: this node's own (which forwards to the leader), or one it joined through. */
  managerAddr: string;
  credentials: ChannelCredentials;
  /** This node: a manager may take only itself out of Raft. */
  nodeId: string;
  deadlineMs?: number;
}

/**
 * Asks the leader to take this manager out of the Raft configuration (RaftMembershipService.LeaveRaft,
 * forwarded to the leader); resolves once the leader has applied the change. An UNAVAILABLE answer
 * (no leader yet, or another membership change in flight) is retried until the deadline, which
 * bounds the whole wait; then the last error is thrown.
 */
export async function leaveRaftThroughLeader(req: LeaveRaftRequest): Promise<void> {
  const deadline = Date.now() + (req.deadlineMs ?? LEAVE_RAFT_DEADLINE_MS);
  const client = new RaftMembershipServiceClient(req.managerAddr, req.credentials, MANAGER_CHANNEL_OPTIONS);
  try {
    for (;;) {
      try {
        await callUnary(client.leaveRaft.bind(client), new Metadata(), { nodeId: req.nodeId }, deadline - Date.now());
        return;
      } catch (err) {
        const retryable = err instanceof TswarmError && err.code === 'UNAVAILABLE';
        if (!retryable || Date.now() + RETRY_AFTER_MS >= deadline) throw err;
        await sleep(RETRY_AFTER_MS);
      }
    }
  } finally {
    client.close();
  }
}
