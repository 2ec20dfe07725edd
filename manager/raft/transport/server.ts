/**
 * The receiving side of the Raft transport: the RaftService implementation. Every message is
 * checked against `authorizeSender` (its `from` must be a member the caller may speak for)
 * before the node sees it; a snapshot is reassembled and verified completely first.
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
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { messageFromWire } from './codec.js';
import { SnapshotAssembler } from './snapshot-chunks.js';

/** Whether the caller of `call` may send messages from member `fromId` (mutual TLS checks go here). */
export type AuthorizeSender = (call: ServerReadableStream<unknown, unknown>, fromId: NodeId) => boolean;

export interface RaftServiceOptions {
  /** Where received messages go: the node loop steps them into the core. */
  receive(m: Message): void;
  authorizeSender: AuthorizeSender;
  /** A snapshot announcing more bytes than this is refused before any is buffered. */
  snapshotBytesMax: number;
  logger: Logger;
}

export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;

const fail = (code: status, details: string) => ({ code, details });

export function createRaftService(options: RaftServiceOptions): RaftServiceServer {
  const streamMessages: handleClientStreamingCall<StreamMessagesRequest, StreamMessagesResponse> = (call, callback) => {
    let failed = false;
    call.on('data', (req: StreamMessagesRequest) => {
      if (failed) return;
      for (const wire of req.messages) {
        if (!options.authorizeSender(call, wire.from)) {
          failed = true;
          options.logger.warn(
            { from: wire.from },
            'raft transport: refused messages from a sender that is not a current member',
          );
          callback(fail(status.PERMISSION_DENIED, `raft: ${wire.from} is not a current member`));
          return;
        }
        let m: Message;
        try {
          m = messageFromWire(wire);
        } catch (err) {
          options.logger.warn({ err, from: wire.from }, 'raft transport: dropped a malformed message');
          continue;
        }
        // A snapshot travels only on StreamSnapshot, where its data is verified.
        if (m.type !== 'MsgSnap') options.receive(m);
      }
    });
    call.on('end', () => {
      if (!failed) callback(null, {});
    });
    call.on('error', () => undefined); // the sender went away: it reconnects
  };

  const streamSnapshot: handleClientStreamingCall<StreamSnapshotRequest, StreamSnapshotResponse> = (call, callback) => {
    const assembler = new SnapshotAssembler(options.snapshotBytesMax);
    let failed = false;
    const refuse = (code: status, details: string) => {
      failed = true;
      options.logger.warn({ details }, 'raft transport: refused a snapshot');
      callback(fail(code, details));
    };
    call.on('data', (req: StreamSnapshotRequest) => {
      if (failed) return;
      if (req.message && !options.authorizeSender(call, req.message.from)) {
        refuse(status.PERMISSION_DENIED, `raft: ${req.message.from} is not a current member`);
        return;
      }
      try {
        const m = assembler.accept(req);
        if (m) options.receive(m);
      } catch (err) {
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
