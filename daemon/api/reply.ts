import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { asTswarmError, httpStatusFor } from '../../lib/errors.js';
import { ERROR_CODE_HEADER, ERROR_MESSAGE_TRAILER } from '../../lib/api-version.js';

/** Where a streamed body goes: `write` waits while the client reads slowly; `closed` fires when it goes away. */
export interface Sink {
  write(chunk: Buffer | string): Promise<void>;
  /**
   * Ends the body. `failure` (a stream the daemon had to cut short) goes in HTTP trailers — the
   * error's code and message, as ERROR_CODE_HEADER names them — which Docker's clients ignore
   * and tswarm's CLI reports; only a chunked response carries them.
   */
  end(failure?: { code: string; message: string }): void;
  readonly closed: AbortSignal;
}

/** The answer to one API request, over a normal HTTP response or a hijacked (upgraded) connection. */
export interface Reply {
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  empty(status: number, headers?: Record<string, string>): void;
  text(status: number, body: string, headers?: Record<string, string>): void;
  /** A streamed body (logs, pull progress): chunked, ended by `Sink.end`. */
  stream(status: number, contentType: string): Sink;
  /**
   * A raw stream for attach and exec: `101 UPGRADED` on a connection the client asked to upgrade
   * (the docker CLI always does), else a 200 whose body is the raw stream.
   */
  upgrade(contentType: string): Sink;
  /**
   * What the client sends on an upgraded connection after its request (attach's and exec's
   * stdin), read at the reader's pace; undefined on a plain HTTP reply, which has no such stream.
   */
  hijackedInput(): Readable | undefined;
  readonly started: boolean;
}

/** Docker's error body: the docker CLI prints `message` as it is. */
export function sendError(reply: Reply, err: unknown): void {
  const e = asTswarmError(err);
  reply.json(httpStatusFor(e.code), { message: e.message }, { [ERROR_CODE_HEADER]: e.code });
}

function abortOn(target: { once(event: 'close', fn: () => void): unknown }): AbortSignal {
  const ac = new AbortController();
  target.once('close', () => ac.abort());
  return ac.signal;
}

function writeWithBackpressure(
  target: { write(chunk: Buffer | string): boolean; once(event: 'drain', fn: () => void): unknown },
  closed: AbortSignal,
  chunk: Buffer | string,
): Promise<void> {
  if (closed.aborted) return Promise.reject(new Error('the client went away'));
  if (target.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new Error('the client went away'));
    closed.addEventListener('abort', onAbort, { once: true });
    target.once('drain', () => {
      closed.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * A sink that refuses writes once ended: a producer still reporting after the end (a pull's other
 * layers after one failed) must not write after end(), which a response turns into an 'error'
 * event nobody handles — a daemon crash.
 */
function endOnce(
  target: {
    write(chunk: Buffer | string): boolean;
    end(): unknown;
    once(event: 'drain', fn: () => void): unknown;
    on(event: 'error', fn: (err: Error) => void): unknown;
  },
  closed: AbortSignal,
): Sink {
  let ended = false;
  // Whatever goes wrong on the way to a client ends that client's stream, never the daemon.
  target.on('error', () => undefined);
  return {
    write: (chunk) =>
      ended ? Promise.reject(new Error('the stream has ended')) : writeWithBackpressure(target, closed, chunk),
    end: () => {
      if (ended) return;
      ended = true;
      target.end();
    },
    closed,
  };
}

export class HttpReply implements Reply {
  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string>,
  ) {}

  get started(): boolean {
    return this.res.headersSent;
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body) + '\n';
    this.res.writeHead(status, {
      ...this.headers,
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    });
    this.res.end(text);
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, { ...this.headers, ...headers, 'Content-Length': '0' });
    this.res.end();
  }

  text(status: number, body: string, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, {
      ...this.headers,
      'Content-Type': 'text/plain; charset=utf-8',
      ...headers,
      'Content-Length': String(Buffer.byteLength(body)),
    });
    this.res.end(body);
  }

  stream(status: number, contentType: string): Sink {
    this.res.writeHead(status, { ...this.headers, 'Content-Type': contentType });
    this.res.flushHeaders();
    const sink = endOnce(this.res, abortOn(this.res));
    return {
      ...sink,
      end: (failure) => {
        if (failure && this.res.writable)
          this.res.addTrailers({
            [ERROR_CODE_HEADER]: failure.code,
            // A header value holds no line breaks, and non-ASCII text only as escapes.
            [ERROR_MESSAGE_TRAILER]: encodeURIComponent(failure.message.replace(/[\r\n]+/g, ' ')),
          });
        sink.end();
      },
    };
  }

  upgrade(contentType: string): Sink {
    return this.stream(200, contentType);
  }

  hijackedInput(): undefined {
    return undefined;
  }
}

/** A reply written straight onto the socket of a request that asked to upgrade the connection. */
export class RawReply implements Reply {
  private headersWritten = false;

  constructor(
    private readonly socket: Socket,
    private readonly headers: Record<string, string>,
  ) {}

  get started(): boolean {
    return this.headersWritten;
  }

  private head(status: number, headers: Record<string, string>): void {
    this.headersWritten = true;
    const lines = [`HTTP/1.1 ${status} ${status === 101 ? 'UPGRADED' : (STATUS_CODES[status] ?? '')}`];
    for (const [k, v] of Object.entries({ ...this.headers, ...headers })) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.text(status, JSON.stringify(body) + '\n', { ...headers, 'Content-Type': 'application/json' });
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    this.head(status, { ...headers, 'Content-Length': '0', Connection: 'close' });
    this.socket.end();
  }

  text(status: number, body: string, headers: Record<string, string> = {}): void {
    this.head(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      ...headers,
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    });
    this.socket.end(body);
  }

  stream(status: number, contentType: string): Sink {
    // No chunked framing on a connection that is closed at the end: the close ends the body.
    this.head(status, { 'Content-Type': contentType, Connection: 'close' });
    return this.sink();
  }

  upgrade(contentType: string): Sink {
    this.head(101, { 'Content-Type': contentType, Connection: 'Upgrade', Upgrade: 'tcp' });
    return this.sink();
  }

  hijackedInput(): Readable {
    return this.socket;
  }

  private sink(): Sink {
    return endOnce(this.socket, abortOn(this.socket));
  }
}

/** The stream of one frame of Docker's multiplexed stdout/stderr format. */
export type FrameStream = 'stdin' | 'stdout' | 'stderr' | 'systemerr';
const STREAM_IDS: Record<FrameStream, number> = { stdin: 0, stdout: 1, stderr: 2, systemerr: 3 };
/** A frame's length field is 32 bits; larger writes are split (and 1 MiB keeps frames small). */
const FRAME_BYTES_MAX = 1024 * 1024;

/**
 * Docker's multiplexed stream (attach, logs and exec without a TTY): each frame is an 8-byte
 * header — the stream (1 stdout, 2 stderr), three zero bytes, the payload length big-endian —
 * then the payload, so a client can tell stdout from stderr.
 */
export function muxFrames(stream: FrameStream, data: Buffer | string): Buffer[] {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const frames: Buffer[] = [];
  for (let off = 0; off < payload.length; off += FRAME_BYTES_MAX) {
    const part = payload.subarray(off, off + FRAME_BYTES_MAX);
    const header = Buffer.alloc(8);
    header[0] = STREAM_IDS[stream];
    header.writeUInt32BE(part.length, 4);
    frames.push(header, part);
  }
  return frames;
}
