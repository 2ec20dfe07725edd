/**
 * The wire form of Raft messages (proto/tswarm/v1/raft.proto) and back. The core's types stay
 * free of protobuf; only the transport knows both. A MsgSnap's snapshot data never travels in a
 * message: the wire message carries its metadata and the data follows on StreamSnapshot.
 */
import { TswarmError } from '../../../lib/errors.js';
import {
  EntryType as WireEntryType,
  MessageType as WireMessageType,
  type Entry as WireEntry,
  type Message as WireMessage,
  type SnapshotMetadata as WireSnapshotMetadata,
} from '../../../gen/tswarm/v1/raft.js';
import { newMessage, type Message, type MessageType } from '../core/messages.js';
import type { Entry, SnapshotMetadata } from '../core/types.js';

/** Types that may cross the network; local ones (MsgHup, MsgBeat, ...) never do. */
const TO_WIRE: Partial<Record<MessageType, WireMessageType>> = {
  MsgApp: WireMessageType.MESSAGE_TYPE_APP,
  MsgAppResp: WireMessageType.MESSAGE_TYPE_APP_RESP,
  MsgVote: WireMessageType.MESSAGE_TYPE_VOTE,
  MsgVoteResp: WireMessageType.MESSAGE_TYPE_VOTE_RESP,
  MsgPreVote: WireMessageType.MESSAGE_TYPE_PRE_VOTE,
  MsgPreVoteResp: WireMessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  MsgHeartbeat: WireMessageType.MESSAGE_TYPE_HEARTBEAT,
  MsgHeartbeatResp: WireMessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  MsgSnap: WireMessageType.MESSAGE_TYPE_SNAP,
  MsgTimeoutNow: WireMessageType.MESSAGE_TYPE_TIMEOUT_NOW,
  MsgReadIndex: WireMessageType.MESSAGE_TYPE_READ_INDEX,
  MsgReadIndexResp: WireMessageType.MESSAGE_TYPE_READ_INDEX_RESP,
  MsgProp: WireMessageType.MESSAGE_TYPE_PROP,
  MsgTransferLeader: WireMessageType.MESSAGE_TYPE_TRANSFER_LEADER,
};

const FROM_WIRE = new Map<WireMessageType, MessageType>(Object.entries(TO_WIRE).map(([k, v]) => [v, k as MessageType]));

export function isWireMessageType(type: MessageType): boolean {
  return TO_WIRE[type] !== undefined;
}

function asBuffer(bytes: Uint8Array): Buffer {
  // No copy: a Buffer view over the same memory.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function entryToWire(e: Entry): WireEntry {
  const type = e.type === 'confChange' ? WireEntryType.ENTRY_TYPE_CONF_CHANGE : WireEntryType.ENTRY_TYPE_NORMAL;
  return { term: e.term, index: e.index, type, data: asBuffer(e.data) };
}

export function entryFromWire(w: WireEntry): Entry {
  let type: Entry['type'];
  if (w.type === WireEntryType.ENTRY_TYPE_NORMAL) type = 'normal';
  else if (w.type === WireEntryType.ENTRY_TYPE_CONF_CHANGE) type = 'confChange';
  else throw new TswarmError('INVALID_ARGUMENT', `raft transport: entry ${w.index} has unknown type ${w.type}`);
  return { term: w.term, index: w.index, type, data: w.data };
}

function metadataToWire(m: SnapshotMetadata): WireSnapshotMetadata {
  return {
    index: m.index,
    term: m.term,
    confState: { voters: [...m.confState.voters], learners: [...m.confState.learners] },
  };
}

function metadataFromWire(w: WireSnapshotMetadata): SnapshotMetadata {
  const cs = w.confState ?? { voters: [], learners: [] };
  return { index: w.index, term: w.term, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
}

/** The wire form of a message; a MsgSnap keeps only the snapshot's metadata (its data streams apart). */
export function messageToWire(m: Message): WireMessage {
  const type = TO_WIRE[m.type];
  if (type === undefined) throw new TswarmError('INTERNAL', `raft transport: ${m.type} is local and never sent`);
  return {
    type,
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryToWire),
    commit: m.commit,
    snapshot: m.snapshot ? metadataToWire(m.snapshot.metadata) : undefined,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: Buffer.from(m.context, 'utf8'),
  };
}

/** The core's message from its wire form; `snapshotData` completes a MsgSnap received on StreamSnapshot. */
export function messageFromWire(w: WireMessage, snapshotData: Uint8Array = new Uint8Array()): Message {
  const type = FROM_WIRE.get(w.type);
  if (type === undefined)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `raft transport: message type ${w.type} is not accepted from the network`,
    );
  return newMessage({
    type,
    to: w.to,
    from: w.from,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries: w.entries.map(entryFromWire),
    commit: w.commit,
    snapshot: w.snapshot ? { metadata: metadataFromWire(w.snapshot), data: snapshotData } : undefined,
    reject: w.reject,
    rejectHint: w.rejectHint,
    context: w.context.toString('utf8'),
  });
}
