/**
 * A small key-value service over the Raft node, for tests and the benchmark against etcd. No
 * .proto: a grpc-js generic service whose messages are JSON in Buffers. Put proposes the command
 * (with the client's ID and sequence number, so a retry is applied at most once); Get confirms
 * leadership with ReadIndex and then reads the local state machine. A member that is not the
 * leader answers with the leader's ID in the trailers, so the client goes there.
 *
 * PutStream carries the same puts on one long-lived bidirectional stream per client connection,
 * each tagged with an ID its answer repeats. A unary call costs grpc-js a new HTTP/2 stream, with
 * headers and trailers, on both sides (~0.4 ms of a 1.5 ms write); a stream message does not.
 */
import {
  Metadata,
  type ServerDuplexStream,
  type ServiceDefinition,
  type handleUnaryCall,
  type MethodDefinition,
} from '@grpc/grpc-js';
import { asTswarmError, toServiceError, TswarmError } from '../../../lib/errors.js';
import { encodeKvCommand, type KvResult } from '../../../manager/raft/kv/commands.js';
import type { KvStateMachine } from '../../../manager/raft/kv/kv-state-machine.js';
import { NotLeaderError } from '../../../manager/raft/node/errors.js';
import type { RaftNode } from '../../../manager/raft/node/raft-node.js';

export interface PutRequest {
  clientId: string;
  seq: number;
  key: string;
  value: string;
}
export interface PutResponse {
  ok: boolean;
}
/** Several clients' puts in one request (a coalescing client); each is still its own command. */
export interface PutBatchRequest {
  puts: PutRequest[];
}
/** Per put, in order: its result, or the error it failed with (code as in lib/errors.ts). */
export interface PutBatchResponse {
  results: ({ ok: boolean } | { errorCode: string; message: string })[];
}
/** One put on a PutStream; `id` is the client's, unique among its puts in flight on the stream. */
export interface PutStreamRequest extends PutRequest {
  id: number;
}
/** The answer to the put with the same `id`: done, or failed (`leader` set on a not-leader error). */
export type PutStreamResponse =
  { id: number; ok: boolean } | { id: number; errorCode: string; message: string; leader?: string };
export interface GetRequest {
  key: string;
}
export interface GetResponse {
  value: string;
}

/** Trailer naming the leader on a not-leader error. */
export const LEADER_METADATA_KEY = 'tswarm-raft-leader';
export const KEY_BYTES_MAX = 1024;
export const VALUE_BYTES_MAX = 1024 * 1024;
/** Puts per batch request at most; a coalescing client sends no more. */
export const PUT_BATCH_COUNT_MAX = 1024;
/** Puts in flight on one PutStream at most; beyond it a put is answered RESOURCE_EXHAUSTED. */
export const PUT_STREAM_IN_FLIGHT_MAX = 4096;

function jsonMethod<Req, Res>(name: string, streaming = false): MethodDefinition<Req, Res> {
  return {
    path: `/tswarm.raftkv.Kv/${name}`,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: (v: Req) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Req,
    responseSerialize: (v: Res) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Res,
  };
}

export const KvServiceDefinition = {
  put: jsonMethod<PutRequest, PutResponse>('Put'),
  putBatch: jsonMethod<PutBatchRequest, PutBatchResponse>('PutBatch'),
  putStream: jsonMethod<PutStreamRequest, PutStreamResponse>('PutStream', true),
  get: jsonMethod<GetRequest, GetResponse>('Get'),
} satisfies ServiceDefinition;

function handler<Req, Res>(fn: (req: Req) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        const se = toServiceError(err);
        if (err instanceof NotLeaderError && err.leaderId !== '')
          (se.metadata ?? new Metadata()).set(LEADER_METADATA_KEY, err.leaderId);
        callback(se);
      },
    );
  };
}

function streamFailure(id: number, err: unknown): PutStreamResponse {
  const e = asTswarmError(err);
  const leader = err instanceof NotLeaderError && err.leaderId !== '' ? { leader: err.leaderId } : {};
  return { id, errorCode: e.code, message: e.message, ...leader };
}

function checkString(value: unknown, what: string, bytesMax: number): string {
  if (typeof value !== 'string') throw new TswarmError('INVALID_ARGUMENT', `kv: ${what} must be a string`);
  if (Buffer.byteLength(value) > bytesMax)
    throw new TswarmError('INVALID_ARGUMENT', `kv: ${what} exceeds ${bytesMax} bytes`);
  return value;
}

export function createKvService(node: RaftNode<KvResult>, sm: KvStateMachine) {
  const leaderOnly = () => {
    const st = node.status();
    if (st.role !== 'leader') throw node.notLeader(st.leader);
  };
  const putOne = async (req: PutRequest): Promise<PutResponse> => {
    const clientId = checkString(req.clientId, 'clientId', 256);
    if (!Number.isSafeInteger(req.seq) || req.seq < 1)
      throw new TswarmError('INVALID_ARGUMENT', 'kv: seq must be a positive integer');
    const key = checkString(req.key, 'key', KEY_BYTES_MAX);
    const value = checkString(req.value, 'value', VALUE_BYTES_MAX);
    const result = await node.propose(encodeKvCommand({ clientId, seq: req.seq, op: 'put', key, value, expected: '' }));
    return { ok: result.ok };
  };
  return {
    put: handler<PutRequest, PutResponse>(async (req) => {
      leaderOnly();
      return putOne(req);
    }),
    putBatch: handler<PutBatchRequest, PutBatchResponse>(async (req) => {
      if (!Array.isArray(req.puts) || req.puts.length > PUT_BATCH_COUNT_MAX) {
        throw new TswarmError('INVALID_ARGUMENT', `kv: a batch holds an array of at most ${PUT_BATCH_COUNT_MAX} puts`);
      }
      leaderOnly();
      const settled = await Promise.allSettled(req.puts.map(putOne));
      return {
        results: settled.map((s) => {
          if (s.status === 'fulfilled') return s.value;
          const e = asTswarmError(s.reason);
          return { errorCode: e.code, message: e.message };
        }),
      };
    }),
    putStream: (call: ServerDuplexStream<PutStreamRequest, PutStreamResponse>) => {
      let inFlight = 0;
      let clientDone = false;
      let closed = false;
      let paused = false;
      const answer = (res: PutStreamResponse) => {
        if (closed || call.write(res) || paused) return;
        // A client that does not read its answers: read no more puts until they drain.
        paused = true;
        call.pause();
        call.once('drain', () => {
          paused = false;
          call.resume();
        });
      };
      const endIfDone = () => {
        if (clientDone && inFlight === 0 && !closed) {
          closed = true;
          call.end();
        }
      };
      call.on('data', (req: PutStreamRequest) => {
        if (closed) return;
        const id = (req as Partial<PutStreamRequest> | null)?.id;
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
          // Without an ID no answer can name the put: the stream itself fails.
          closed = true;
          call.emit(
            'error',
            toServiceError(
              new TswarmError('INVALID_ARGUMENT', 'kv: every put on a stream needs a non-negative integer id'),
            ),
          );
          return;
        }
        if (inFlight >= PUT_STREAM_IN_FLIGHT_MAX) {
          answer({
            id,
            errorCode: 'RESOURCE_EXHAUSTED',
            message: `kv: more than ${PUT_STREAM_IN_FLIGHT_MAX} puts in flight on one stream. Wait for answers`,
          });
          return;
        }
        inFlight++;
        Promise.resolve()
          .then(() => {
            leaderOnly();
            return putOne(req);
          })
          .then(
            (res) => answer({ id, ok: res.ok }),
            (err: unknown) => answer(streamFailure(id, err)),
          )
          .finally(() => {
            inFlight--;
            endIfDone();
          });
      });
      call.on('end', () => {
        clientDone = true;
        endIfDone();
      });
      // A cancelled or broken stream: answers have nowhere to go (the client retries them).
      call.on('error', () => (closed = true));
      call.on('cancelled', () => (closed = true));
    },
    get: handler<GetRequest, GetResponse>(async (req) => {
      const key = checkString(req.key, 'key', KEY_BYTES_MAX);
      leaderOnly();
      await node.readIndex();
      return { value: sm.get(key) };
    }),
  };
}
