import { peerIdentity, type PeerIdentity } from '../../lib/tls.js';
import type { Message, MessageType } from '../raft/core/messages.js';
import type { NodeId } from '../raft/core/types.js';
import type { DropReason } from '../raft/transport/dropped.js';
import { isLocalRequest, type AuthorizeSender, type SenderVerdict } from '../raft/transport/server.js';
import type { RaftStanding } from './store-membership.js';
import { peerSerial } from './revocation.js';

/**
 * Who may deliver which Raft message to this manager. The transport asks for every message (and
 * snapshot stream) before the node loop sees it, and this answers from the state of that moment
 * — this member's current Raft configuration and its replica of the store — never from a copy
 * taken at start, so a removal or demotion takes effect at the next message. A sender must:
 *
 * 1. present a certificate of this cluster with the manager OU, whose CN is the `from` it claims,
 *    and whose serial this member's store has not revoked (revocation.ts: a demoted manager's old
 *    certificate);
 * 2. be a voter or a learner of this member's current configuration (etcd's ConfState), or a
 *    voter that a JoinRaft answer named while this member has not caught up with that answer;
 * 3. not be held by the store as a worker (StoreStanding: a demotion that left it in Raft);
 * 4. send only what its seat allows: leader messages (MsgApp, MsgHeartbeat, MsgSnap,
 *    MsgTimeoutNow, MsgReadIndexResp) and vote requests only from a voter — a learner never leads
 *    or campaigns, and an ex-member cannot make a follower adopt it as leader;
 * 5. never send MsgProp or MsgTransferLeader: proposals reach the leader as authorized RPCs
 *    (manager/forward.ts), and the Raft core of a manager forwards none (disableProposalForwarding).
 *
 * A caller failing 1–3 may send nothing, and its stream is refused; a member's message failing
 * 4–5 is dropped alone.
 *
 * Why 2 and 3 are not simply "in my configuration and a manager in my store": a member applies
 * the log in order, so what it holds can be older than the cluster. A joining manager has no
 * configuration until the leader's snapshot, and that snapshot may be old — the bootstrap
 * snapshot names the first voter only, and its store holds no node at all — while the leader
 * may have joined later. Refusing on such a lagging state would refuse the very messages that
 * bring it up to date. So the voters of the leader's JoinRaft answer (an authorized RPC to a
 * manager this member verified, stating the index it holds at) count as voters until this
 * member has applied that index; and a store that does not hold a node is no verdict — only a
 * store that holds it as a worker is. docs/security.md (Raft transport) tells the whole story.
 */
export interface RaftSenderView {
  clusterId(): string;
  /** Where the node stands in this member's current configuration. */
  seatOf(nodeId: NodeId): 'voter' | 'learner' | undefined;
  /**
   * The voters a JoinRaft answer named, while this member has applied less than the index the
   * answer holds at; empty otherwise.
   */
  vouchedVoters(): ReadonlySet<NodeId>;
  /** What this member's store says of the node (store-membership.ts). */
  storeStanding(nodeId: NodeId): RaftStanding;
  /** Whether this member's store revoked that certificate serial (normalized) of the node. */
  isRevoked(nodeId: NodeId, serial: string): boolean;
}

/** The caller of a Raft stream: its certificate's subject, and the certificate's serial (normalized). */
export type RaftCaller = PeerIdentity & { serial?: string };

const MANAGER_OU = 'tswarm-manager';

/** Messages only a leader sends: a follower takes them from a voter of its configuration alone. */
const LEADER_MESSAGES: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgApp',
  'MsgHeartbeat',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgReadIndexResp',
]);

const VOTE_REQUESTS: ReadonlySet<MessageType> = new Set<MessageType>(['MsgVote', 'MsgPreVote']);

const ACCEPT: SenderVerdict = { accept: true };
const refuseCaller = (reason: DropReason): SenderVerdict => ({ accept: false, reason, refuseCaller: true });
const drop = (reason: DropReason): SenderVerdict => ({ accept: false, reason, refuseCaller: false });

/** The decision for one message from a caller with identity `peer` (undefined: no certificate of this cluster). */
export function judgeRaftSender(
  peer: RaftCaller | undefined,
  m: Pick<Message, 'type' | 'from'>,
  view: RaftSenderView,
): SenderVerdict {
  if (!peer) return refuseCaller('no-identity');
  if (peer.clusterId !== view.clusterId()) return refuseCaller('other-cluster');
  if (peer.ou !== MANAGER_OU) return refuseCaller('not-a-manager-certificate');
  if (peer.nodeId !== m.from) return refuseCaller('sender-not-caller');
  if (peer.serial !== undefined && view.isRevoked(peer.nodeId, peer.serial)) return refuseCaller('certificate-revoked');
  // The answer is newer than this member's configuration and store: it decides alone.
  const vouched = view.vouchedVoters().has(m.from);
  const seat = vouched ? 'voter' : view.seatOf(m.from);
  if (seat === undefined) return refuseCaller('not-a-member');
  if (!vouched && view.storeStanding(m.from) === 'worker') return refuseCaller('not-a-manager');
  if (isLocalRequest(m.type)) return drop('local-request');
  if (seat !== 'voter' && LEADER_MESSAGES.has(m.type)) return drop('leader-message-from-non-voter');
  if (seat !== 'voter' && VOTE_REQUESTS.has(m.type)) return drop('vote-from-non-voter');
  return ACCEPT;
}

/** The transport's authorizer: the caller's identity once per stream, the decision per message. */
export function raftSenderAuthorizer(view: RaftSenderView): AuthorizeSender {
  return (call) => {
    const identity = peerIdentity(call);
    const serial = peerSerial(call.getAuthContext()?.sslPeerCertificate);
    const peer = identity && (serial === undefined ? identity : { ...identity, serial });
    return (m) => judgeRaftSender(peer, m, view);
  };
}
