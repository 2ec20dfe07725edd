/**
 * The client end of one member's PutStream: puts written as messages on one long-lived stream,
 * answers matched by ID. Each put is bounded by its own deadline; a broken stream fails every
 * put in flight as UNAVAILABLE (the client retries them, safely: a put carries its client ID and
 * sequence number) and the next put opens a new stream.
 */
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { TswarmError, isErrorCode, fromServiceError, type ErrorCode } from '../../../lib/errors.js';
import { PUT_STREAM_IN_FLIGHT_MAX, type PutRequest, type PutStreamRequest, type PutStreamResponse } from './service.js';

/** How one attempt failed: the error, and the leader a not-leader answer named. */
export class KvAttemptError extends Error {
  constructor(
    readonly error: TswarmError,
    readonly leaderHint: string | undefined,
  ) {
    super(error.message);
  }
}

/**
 * Errors after which another member (or the same, later) may succeed. Retrying is safe because
 * commands carry their client ID and sequence number.
 */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'FAILED_PRECONDITION',
  'RESOURCE_EXHAUSTED',
]);

/**
 * The error a failed call or stream stands for. CANCELLED is what a call in flight gets when its
 * member shuts down: another member may take the command, so it counts as UNAVAILABLE.
 */
export function callFailure(se: ServiceError): TswarmError {
  if (se.code === status.CANCELLED)
    return new TswarmError('UNAVAILABLE', `kv: the call was cancelled: ${se.details}`, { cause: se });
  return fromServiceError(se);
}

interface InFlight {
  resolve(): void;
  reject(err: KvAttemptError): void;
  timer: NodeJS.Timeout;
  /** The stream the put went out on: only its failure fails the put. */
  call: ClientDuplexStream<PutStreamRequest, PutStreamResponse>;
}

export type OpenPutStream = () => ClientDuplexStream<PutStreamRequest, PutStreamResponse>;

export class PutStream {
  private call: ClientDuplexStream<PutStreamRequest, PutStreamResponse> | undefined;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 0;

  constructor(
    private readonly open: OpenPutStream,
    private readonly requestTimeoutMs: number,
  ) {}

  put(req: PutRequest): Promise<void> {
    if (this.inFlight.size >= PUT_STREAM_IN_FLIGHT_MAX) {
      return Promise.reject(
        new KvAttemptError(
          new TswarmError(
            'RESOURCE_EXHAUSTED',
            `kv: ${PUT_STREAM_IN_FLIGHT_MAX} puts already in flight on this stream`,
          ),
          undefined,
        ),
      );
    }
    const call = this.call ?? this.openStream();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(id);
        reject(
          new KvAttemptError(
            new TswarmError('DEADLINE_EXCEEDED', `kv: no answer to a put within ${this.requestTimeoutMs} ms`),
            undefined,
          ),
        );
      }, this.requestTimeoutMs);
      this.inFlight.set(id, { resolve, reject, timer, call });
      call.write({ ...req, id });
    });
  }

  private openStream(): ClientDuplexStream<PutStreamRequest, PutStreamResponse> {
    const call = this.open();
    this.call = call;
    call.on('data', (res: PutStreamResponse) => this.settle(res));
    // grpc-js may report one broken stream twice ('error', then 'end'); by then a new stream
    // may carry puts of its own, which this one's failure must not touch.
    const fail = (error: TswarmError) => {
      if (this.call === call) this.call = undefined;
      for (const [id, waiter] of this.inFlight) {
        if (waiter.call !== call) continue;
        clearTimeout(waiter.timer);
        waiter.reject(new KvAttemptError(error, undefined));
        this.inFlight.delete(id);
      }
    };
    call.on('error', (err: ServiceError) => fail(callFailure(err)));
    // The server ends the stream only when it stops: what is still in flight must go elsewhere.
    call.on('end', () => fail(new TswarmError('UNAVAILABLE', 'kv: the member closed the put stream')));
    return call;
  }

  private settle(res: PutStreamResponse): void {
    const waiter = this.inFlight.get(res.id);
    if (!waiter) return; // timed out already
    this.inFlight.delete(res.id);
    clearTimeout(waiter.timer);
    if ('ok' in res) {
      waiter.resolve();
      return;
    }
    const code = isErrorCode(res.errorCode) ? res.errorCode : 'INTERNAL';
    waiter.reject(new KvAttemptError(new TswarmError(code, res.message), res.leader));
  }

  close(): void {
    this.call?.end();
    this.call = undefined;
  }
}
