import type {
  handleUnaryCall,
  sendUnaryData,
  ServerUnaryCall,
  ServiceError,
  CallOptions,
  Metadata,
} from '@grpc/grpc-js';
import { fromServiceError, toServiceError, TswarmError } from './errors.js';

/**
 * What a tswarm gRPC server (a manager's port 2377) accepts in one incoming
 * message; grpc-js refuses anything over 4 MiB by default. This is a ceiling on what one message may
 * make a server allocate, not a tuned size: the bulky streams are chunked far below it (`image load`
 * archives and Raft snapshots in 1 MiB chunks, other Raft messages at most 8 MiB a peer send), and
 * it leaves room for a large control request on a big cluster.
 */
export const GRPC_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Wraps an async handler as a grpc-js unary handler: a thrown TswarmError travels with its code
 * (ERROR_CODE_METADATA_KEY), anything else as INTERNAL — never as a crashed daemon.
 */
export function unaryHandler<Req, Res>(
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    // Promise.resolve().then: an error thrown before the handler's first await travels too.
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a generated client's unary method as a promise with a deadline; errors come back typed. */
export function callUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  metadata: Metadata,
  request: Req,
  deadlineMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error) reject(fromServiceError(error));
      else resolve(response);
    });
  });
}

/**
 * A server stream as handlers see it: `write` waits while the transport's buffer is full (so a
 * slow reader slows its own stream, not the process), and `signal` aborts when the caller goes away.
 */
export interface StreamSink<Res> {
  write(message: Res): Promise<void>;
  readonly signal: AbortSignal;
}

interface WritableCall<Res> {
  write(message: Res): boolean;
  on(event: 'cancelled' | 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

export function streamSink<Res>(call: WritableCall<Res>): StreamSink<Res> {
  const aborter = new AbortController();
  const gone = () => aborter.abort(new TswarmError('UNAVAILABLE', 'the caller closed the stream'));
  call.on('cancelled', gone);
  call.on('close', gone);
  return {
    signal: aborter.signal,
    write: (message) =>
      new Promise<void>((resolve) => {
        if (aborter.signal.aborted || call.write(message)) return resolve();
        call.once('drain', resolve);
        aborter.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}
