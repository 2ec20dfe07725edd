/**
 * Raft messages. Names follow etcd-io/raft (MsgApp, MsgVote, ...) so a reader of either finds
 * their way. Some types never leave the node ("local" messages: MsgHup, MsgBeat, ...): they are
 * how tick() and the RawNode API feed the same step() function as the network does.
 */
import type { Entry, NodeId, Snapshot } from './types.js';
import { NONE } from './types.js';

export type MessageType =
  | 'MsgHup' // local: start an election
  | 'MsgBeat' // local: leader, send heartbeats
  | 'MsgProp' // a proposal; forwarded by followers to the leader
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgUnreachable' // local: the transport could not reach a peer
  | 'MsgSnapStatus' // local: the transport finished (or failed) sending a snapshot
  | 'MsgCheckQuorum' // local: leader, verify a quorum was heard from recently
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  /** 0 for local messages and forwarded proposals / read requests. */
  term: number;
  /** MsgApp: term of the entry at `index`. MsgAppResp rejection: term at rejectHint. MsgVote: last log term. */
  logTerm: number;
  /** MsgApp: index preceding `entries`. MsgAppResp: last index accepted (or the rejected index). MsgVote: last log index. MsgReadIndexResp: the read index. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot: Snapshot | undefined;
  reject: boolean;
  /** MsgAppResp rejection: the index the leader should probe next. */
  rejectHint: number;
  /** MsgHeartbeat(Resp)/MsgReadIndex(Resp): read request context. MsgVote: 'CampaignTransfer' for forced elections. */
  context: string;
}

/** A vote's context when the election was started by a leadership transfer: ignores leader leases. */
export const CAMPAIGN_TRANSFER = 'CampaignTransfer';

export function newMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: '',
    ...fields,
  };
}

const LOCAL_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgHup',
  'MsgBeat',
  'MsgUnreachable',
  'MsgSnapStatus',
  'MsgCheckQuorum',
]);

export function isLocalMessage(type: MessageType): boolean {
  return LOCAL_TYPES.has(type);
}

export function isResponse(type: MessageType): boolean {
  return (
    type === 'MsgAppResp' ||
    type === 'MsgVoteResp' ||
    type === 'MsgPreVoteResp' ||
    type === 'MsgHeartbeatResp' ||
    type === 'MsgReadIndexResp'
  );
}

export function voteResponseType(type: MessageType): MessageType {
  return type === 'MsgPreVote' ? 'MsgPreVoteResp' : 'MsgVoteResp';
}

/** Bytes an entry counts for in size limits: its payload (the header is small and constant). */
export function entryBytes(entry: Entry): number {
  return entry.data.length;
}

export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entryBytes(e);
  return total;
}
