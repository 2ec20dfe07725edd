import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { RaftMembershipServiceClient } from '../gen/tswarm/v1/raft.js';
import { callUnary } from '../lib/grpc.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import { LEAVE_RAFT_DEADLINE_MS } from './deadlines.js';

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
 * forwarded to the leader); resolves once the leader has applied the change, or rejects at the deadline.
 */
export async function leaveRaftThroughLeader(req: LeaveRaftRequest): Promise<void> {
  const client = new RaftMembershipServiceClient(req.managerAddr, req.credentials, MANAGER_CHANNEL_OPTIONS);
  try {
    await callUnary(
      client.leaveRaft.bind(client),
      new Metadata(),
      { nodeId: req.nodeId },
      req.deadlineMs ?? LEAVE_RAFT_DEADLINE_MS,
    );
  } finally {
    client.close();
  }
}
