import { TswarmError } from '../../lib/errors.js';
import { NodeRole, Reachability } from '../../gen/tswarm/v1/objects.js';
import type {
  JoinRaftRequest,
  JoinRaftResponse,
  LeaveRaftRequest,
  LeaveRaftResponse,
} from '../../gen/tswarm/v1/raft.js';
import type { Caller } from '../authz/authz.js';
import type { Store } from '../store/store.js';
import type { RaftMembership } from './raft-membership.js';

export interface JoinRaftContext {
  raft: RaftMembership;
  store: Store;
}

/** A new manager (its certificate already says so) asks to be added: as a learner first, promoted once caught up. */
export async function joinRaft(ctx: JoinRaftContext, req: JoinRaftRequest, caller: Caller): Promise<JoinRaftResponse> {
  const { raft, store } = ctx;
  if (caller.kind !== 'node') throw new TswarmError('UNAUTHENTICATED', 'joining Raft needs a manager certificate');
  if (store.replica.get('node', caller.nodeId)?.spec?.desiredRole !== NodeRole.NODE_ROLE_MANAGER) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `node ${caller.nodeId} is not to be a manager. Promote it first with \`tswarm node promote\``,
    );
  }
  if (!/^[^\s:]+:\d{1,5}$/.test(req.addr))
    throw new TswarmError('INVALID_ARGUMENT', `invalid Raft address "${req.addr}". Use HOST:PORT`);
  const status = raft.status();
  if (!status.voters.includes(caller.nodeId) && !status.learners.includes(caller.nodeId)) {
    await raft.proposeConfChange({ type: 'addLearner', nodeId: caller.nodeId, addr: req.addr });
  }
  await store.update((tx, s) => {
    const n = s.get('node', caller.nodeId);
    if (!n) return;
    n.managerStatus = { addr: req.addr, leader: false, reachability: Reachability.REACHABILITY_REACHABLE };
    tx.update('node', n);
  });
  const book = raft.status();
  return {
    members: [...book.voters, ...book.learners].map((id) => ({
      nodeId: id,
      addr: store.replica.get('node', id)?.managerStatus?.addr ?? '',
      learner: book.learners.includes(id),
    })),
    // The joiner trusts these voters as Raft senders until it has applied this much itself.
    appliedIndex: book.applied,
  };
}

/** A manager leaving the swarm takes itself out of Raft; no one may remove another this way. */
export async function leaveRaft(
  ctx: JoinRaftContext,
  req: LeaveRaftRequest,
  caller: Caller,
): Promise<LeaveRaftResponse> {
  if (caller.kind !== 'node' || caller.nodeId !== req.nodeId)
    throw new TswarmError('PERMISSION_DENIED', 'a manager may only take itself out of Raft');
  await ctx.raft.proposeConfChange({ type: 'remove', nodeId: req.nodeId, addr: '' });
  // A change the leader dropped (another was in flight) resolves too: the caller deletes its Raft
  // data once this answers, so answer only once it is really out.
  const { voters, learners } = ctx.raft.status();
  if (voters.includes(req.nodeId) || learners.includes(req.nodeId)) {
    throw new TswarmError(
      'UNAVAILABLE',
      `node ${req.nodeId} is still in the Raft configuration: another membership change was in progress. Try again`,
    );
  }
  return {};
}
