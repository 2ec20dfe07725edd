/**
 * The receiving side of the Raft transport: the RaftService implementation. Every message is
 * judged by `authorizeSender` (may this caller send this message now?) before the node sees it;
 * a snapshot is reassembled and verified completely first. Whatever is dropped is counted by
 * reason (DroppedMessages). A caller that may not send at all gets PERMISSION_DENIED and its
 * stream ends; a member's single message that it may not send is dropped and the stream goes on.
 */
import { status, type handleClientStreamingCall, type ServerReadableStream } from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log.js';
import type {
  RaftServiceServer,
  StreamMessagesRequest,
  StreamMessagesResponse,
  StreamSnapshotRequest,
  StreamSnapshotResponse,
} from '../../../gen/tswarm/v1/raft.js';
import type { Message, MessageType } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { messageFromWire } from './codec.js';
import type { DroppedMessages, DropReason } from './dropped.js';
import { SnapshotAssembler } from './snapshot-chunks.js';

/** The judgement on one received message. */
export type SenderVerdict =
  | { accept: true }
  | {
      accept: false;
      reason: DropReason;
      /** The caller may send nothing at all (not only not this message): its stream is refused. */
      refuseCaller: boolean;
    };

/**
 * Who may deliver what. The caller's identity is fixed for a stream, so the authorizer is asked
 * once per stream for a judge; whether that caller may send a given message depends on the
 * state of the moment (the configuration, the store), so the judge is asked for every message.
 */
export type AuthorizeSender = (
  call: ServerReadableStream<unknown, unknown>,
) => (m: Pick<Message, 'type' | 'from'>) => SenderVerdict;

/**
 * Requests a member makes of itself, which the transport never takes from the network whoever
 * sends them: a proposal reaches the leader as an authorized RPC (manager/forward.ts), never as
 * a raw MsgProp, and a leadership transfer is asked of the leader itself.
 */
const LOCAL_REQUESTS: ReadonlySet<MessageType> = new Set<MessageType>(['MsgProp', 'MsgTransferLeader']);

export function isLocalRequest(type: MessageType): boolean {
  return LOCAL_REQUESTS.has(type);
}

export interface RaftServiceOptions {
  /** This member: messages addressed to another are dropped. */
  id: NodeId;
  /** Where received messages go: the node loop steps them into the core. */
  receive(m: Message): void;
  authorizeSender: AuthorizeSender;
  dropped: DroppedMessages;
  /** A snapshot announcing more bytes than this is refused before any is buffered. */
  snapshotBytesMax: number;
  logger: Logger;
}

export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;

const fail = (code: status, details: string) => ({ code, details });

const refusal = (from: NodeId, reason: DropReason) => `raft: messages from ${from} are refused (${reason})`;

/** A verdict refusing the caller, or the transport's own rules for a message an authorizer accepted. */
function judgeMessage(judge: ReturnType<AuthorizeSender>, m: Message, selfId: NodeId): SenderVerdict {
  const verdict = judge(m);
  if (!verdict.accept) return verdict;
  if (isLocalRequest(m.type)) return { accept: false, reason: 'local-request', refuseCaller: false };
  if (m.to !== selfId) return { accept: false, reason: 'wrong-recipient', refuseCaller: false };
  return verdict;
}

export function createRaftService(options: RaftServiceOptions): RaftServiceServer {
  const { dropped } = options;

  const streamMessages: handleClientStreamingCall<StreamMessagesRequest, StreamMessagesResponse> = (call, callback) => {
    const judge = options.authorizeSender(call);
    let refused: DropReason | undefined;
    call.on('data', (req: StreamMessagesRequest) => {
      for (const [i, wire] of req.messages.entries()) {
        if (refused !== undefined) {
          // Whatever else this batch (or a later one, still in flight) holds is dropped too.
          dropped.count(refused, wire.from, 'any', req.messages.length - i);
          return;
        }
        let m: Message;
        try {
          m = messageFromWire(wire);
        } catch {
          dropped.count('malformed', wire.from, String(wire.type));
          continue;
        }
        if (m.type === 'MsgSnap') {
          dropped.count('snapshot-on-message-stream', m.from, m.type);
          continue;
        }
        const verdict = judgeMessage(judge, m, options.id);
        if (verdict.accept) {
          options.receive(m);
          continue;
        }
        dropped.count(verdict.reason, m.from, m.type);
        if (verdict.refuseCaller) {
          refused = verdict.reason;
          callback(fail(status.PERMISSION_DENIED, refusal(m.from, verdict.reason)));
        }
      }
    });
    call.on('end', () => {
      if (refused === undefined) callback(null, {});
    });
    call.on('error', () => undefined); // the sender went away: it reconnects
  };

  const streamSnapshot: handleClientStreamingCall<StreamSnapshotRequest, StreamSnapshotResponse> = (call, callback) => {
    const judge = options.authorizeSender(call);
    const assembler = new SnapshotAssembler(options.snapshotBytesMax);
    let failed = false;
    const refuse = (code: status, details: string) => {
      failed = true;
      options.logger.debug({ details }, 'raft transport: refused a snapshot');
      callback(fail(code, details));
    };
    // Judged on its header, before anything is buffered, and again once complete: a stream may
    // last a minute, and the sender may have been removed meanwhile.
    const allowed = (from: NodeId, m: Message | undefined): boolean => {
      const verdict = m ? judgeMessage(judge, m, options.id) : judge({ type: 'MsgSnap', from });
      if (verdict.accept) return true;
      dropped.count(verdict.reason, from, 'MsgSnap');
      refuse(status.PERMISSION_DENIED, refusal(from, verdict.reason));
      return false;
    };
    call.on('data', (req: StreamSnapshotRequest) => {
      if (failed) return;
      if (req.message && !allowed(req.message.from, undefined)) return;
      try {
        const m = assembler.accept(req);
        if (m && allowed(m.from, m)) options.receive(m);
      } catch (err) {
        dropped.count('malformed', req.message?.from ?? '', 'MsgSnap');
        refuse(status.DATA_LOSS, err instanceof Error ? err.message : String(err));
      }
    });
    call.on('end', () => {
      if (failed) return;
      if (assembler.isComplete()) callback(null, {});
      else refuse(status.DATA_LOSS, 'raft snapshot stream: ended before the last chunk');
    });
    call.on('error', () => undefined);
  };

  return { streamMessages, streamSnapshot };
}
