import { GrpcStatus, grpcStatusName } from '../grpc-status.js';
import { FrameDecoder, FrameError } from './frames.js';
import { H2_ERROR, type Headers, type H2Stream, type StreamEnd, type StreamHandler } from './h2-connection.js';

/**
 * One gRPC call on one HTTP/2 stream, as the client sees it: response messages queue up for
 * `next()`, and the call ends with a status — the server's (trailers, or headers on a
 * trailers-only response), or one this side sets (deadline, cancel, a broken stream or message).
 */

/** Above this many decoded bytes waiting for the reader, the stream is paused (HTTP/2 flow control then stops the server). */
export const QUEUE_BYTES_HIGH = 4 * 1024 * 1024;
/** setTimeout's longest delay (2^31-1 ms, about 24.8 days); longer deadlines re-arm. */
const TIMER_MS_MAX = 2_147_483_647;

/** Response metadata (headers or trailers) read the way grpc-js's Metadata.get reads. */
export class ResponseMetadata {
  constructor(private readonly headers: Headers = {}) {}

  get(key: string): string[] {
    const value = this.headers[key.toLowerCase()];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }
}

/** A call that did not end OK; shaped as grpc-js's ServiceError (code, details, metadata) so lib/errors.ts maps both alike. */
export class GrpcCallError extends Error {
  override readonly name = 'GrpcCallError';

  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: ResponseMetadata = new ResponseMetadata(),
  ) {
    super(`${code} ${grpcStatusName(code)}: ${details}`);
  }
}

interface Status {
  code: number;
  details: string;
  metadata: ResponseMetadata;
}

/** grpc-message is percent-encoded (PROTOCOL-HTTP2.md); a malformed one is shown as sent. */
function decodeMessage(raw: string | string[] | undefined): string {
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function statusFrom(headers: Headers): Status | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  return {
    code: Number.isInteger(code) && code >= 0 ? code : GrpcStatus.UNKNOWN,
    details: decodeMessage(headers['grpc-message']),
    metadata: new ResponseMetadata(headers),
  };
}

/** A non-200 HTTP status as gRPC reads it (doc/http-grpc-status-mapping.md). */
function fromHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** A stream reset by the server, as grpc-js reports it. */
function fromRstCode(rstCode: number): Status {
  const status = (code: number, details: string): Status => ({ code, details, metadata: new ResponseMetadata() });
  switch (rstCode) {
    case H2_ERROR.REFUSED_STREAM:
      return status(GrpcStatus.UNAVAILABLE, 'Stream refused by server');
    case H2_ERROR.CANCEL:
      return status(GrpcStatus.CANCELLED, 'Call cancelled');
    case H2_ERROR.ENHANCE_YOUR_CALM:
      return status(GrpcStatus.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    default:
      return status(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}

export interface CallOptions {
  messageBytesMax: number;
  /** Decoded bytes the reader may fall behind by before the stream is paused. */
  queueBytesHigh: number;
  /** Absolute (Date.now() based); none means no client-side deadline. */
  deadlineAtMs?: number;
}

export class Call<Res> implements StreamHandler {
  private stream: H2Stream | undefined;
  private readonly queue: { message: Res; bytes: number }[] = [];
  private queuedBytes = 0;
  private readonly decoder: FrameDecoder;
  private sawResponseHeaders = false;
  /** The status the server sent (trailers, or the headers of a trailers-only response). */
  private serverStatus: Status | undefined;
  /** How the call ended; set once. */
  private outcome: Status | undefined;
  private readonly ended = Promise.withResolvers<void>();
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly decode: (bytes: Uint8Array) => Res,
    private readonly options: CallOptions,
  ) {
    this.decoder = new FrameDecoder(options.messageBytesMax);
    if (options.deadlineAtMs !== undefined) this.armDeadline(options.deadlineAtMs);
  }

  /** The stream the call runs on (the connection opens it with this call as its handler). */
  attach(stream: H2Stream): void {
    this.stream = stream;
    if (this.outcome) stream.reset();
  }

  /** Sends one framed request message, waiting while flow control holds it; returns early once the call has ended. */
  async send(frame: Buffer): Promise<void> {
    if (this.outcome || !this.stream) return;
    await Promise.race([this.stream.write(frame), this.ended.promise]);
  }

  /** No more request messages (half-close). */
  endRequest(): void {
    if (!this.outcome) this.stream?.end();
  }

  /** Ends the call from this side: RST_STREAM CANCEL, so the server stops working on it. */
  cancel(details = 'Cancelled on client'): void {
    this.finish({ code: GrpcStatus.CANCELLED, details, metadata: new ResponseMetadata() });
  }

  /** True once the call has ended, however it ended. */
  get done(): boolean {
    return this.outcome !== undefined;
  }

  /**
   * The next response message; undefined when the call ended OK, and the call's error when it
   * did not — after every message that came before it, as grpc-js delivers them.
   */
  async next(): Promise<Res | undefined> {
    for (;;) {
      const head = this.queue.shift();
      if (head) {
        this.queuedBytes -= head.bytes;
        if (this.stream?.isPaused && this.queuedBytes < this.options.queueBytesHigh / 2) this.stream.resume();
        return head.message;
      }
      if (this.outcome) {
        if (this.outcome.code === GrpcStatus.OK) return undefined;
        throw new GrpcCallError(this.outcome.code, this.outcome.details, this.outcome.metadata);
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** StreamHandler: the response headers first, then (if any) the trailers. */
  headers(headers: Headers): void {
    if (this.outcome) return;
    if (this.sawResponseHeaders) {
      this.serverStatus ??= statusFrom(headers);
      return;
    }
    this.sawResponseHeaders = true;
    const httpStatus = Number(headers[':status']);
    if (httpStatus !== 200) {
      this.finish({
        code: fromHttpStatus(httpStatus),
        details: `Received HTTP status code ${httpStatus}`,
        metadata: new ResponseMetadata(headers),
      });
      return;
    }
    const contentType = String(headers['content-type'] ?? '');
    if (!contentType.startsWith('application/grpc')) {
      this.finish({
        code: GrpcStatus.UNKNOWN,
        details: `Received invalid content-type "${contentType}"`,
        metadata: new ResponseMetadata(headers),
      });
      return;
    }
    // A trailers-only response (the usual shape of an error) carries its status in the headers.
    this.serverStatus ??= statusFrom(headers);
  }

  /** StreamHandler: response bytes, cut into messages as they complete. */
  data(chunk: Buffer): void {
    if (this.outcome) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const e = err instanceof FrameError ? err : new FrameError(GrpcStatus.INTERNAL, String(err));
      this.finish({ code: e.code, details: e.message, metadata: new ResponseMetadata() });
      return;
    }
    for (const frame of frames) {
      try {
        this.queue.push({ message: this.decode(frame), bytes: frame.length });
      } catch (err) {
        this.finish({
          code: GrpcStatus.INTERNAL,
          details: `Failed to parse server response: ${err instanceof Error ? err.message : String(err)}`,
          metadata: new ResponseMetadata(),
        });
        return;
      }
      this.queuedBytes += frame.length;
    }
    if (this.queuedBytes >= this.options.queueBytesHigh) this.stream?.pause();
    this.wakeReader();
  }

  /** StreamHandler: the stream is over; every message before it has been delivered. */
  end(how: StreamEnd): void {
    if (this.outcome) return;
    const status = this.serverStatus;
    switch (how.kind) {
      case 'ended':
        if (!status)
          this.finish({ code: GrpcStatus.UNKNOWN, details: 'No status received', metadata: new ResponseMetadata() });
        else if (status.code === GrpcStatus.OK && this.decoder.midMessage) {
          this.finish({
            code: GrpcStatus.INTERNAL,
            details: 'the response ended in the middle of a message',
            metadata: status.metadata,
          });
        } else this.finish(status);
        return;
      case 'reset':
        this.finish(status ?? fromRstCode(how.code));
        return;
      case 'cancelled':
        this.cancel();
        return;
      case 'connection':
        // A refused or dropped connection reads as grpc-js reports it: UNAVAILABLE, with the socket's reason.
        this.finish({
          code: how.protocolError ? GrpcStatus.INTERNAL : GrpcStatus.UNAVAILABLE,
          details: how.error.message,
          metadata: new ResponseMetadata(),
        });
        return;
    }
  }

  private armDeadline(atMs: number): void {
    const leftMs = atMs - Date.now();
    if (leftMs <= 0) {
      this.finish({
        code: GrpcStatus.DEADLINE_EXCEEDED,
        details: `Deadline exceeded after ${((Date.now() - this.startedAtMs) / 1000).toFixed(3)}s`,
        metadata: new ResponseMetadata(),
      });
      return;
    }
    this.timer = setTimeout(() => this.armDeadline(atMs), Math.min(leftMs, TIMER_MS_MAX));
  }

  /** Sets the outcome (first one wins); a call that ends early resets its stream so the server stops too. */
  private finish(status: Status): void {
    if (this.outcome) return;
    this.outcome = status;
    clearTimeout(this.timer);
    this.stream?.reset();
    this.ended.resolve();
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
