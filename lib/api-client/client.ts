import { existsSync } from 'node:fs';
import type * as Http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { API_VERSION_MAX, ERROR_CODE_HEADER, ERROR_MESSAGE_TRAILER } from '../api-version.js';
import { isErrorCode, TswarmError, type ErrorCode } from '../errors.js';
import { unixSocketPath } from '../daemon-host.js';
import { readJsonLines } from './json-lines.js';

/**
 * node:http by require(), not `import`: an ES module facade of node:http reads every export, and
 * some are lazy getters (WebSocket and its events) that load undici, crypto and TLS — measured
 * here (Node 24.21) at about 80 ms of every CLI command against 13 ms for require().
 */
const { Agent, request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof Http;

/** A call that takes longer than this means the daemon is stuck, not busy. */
export const LOCAL_CALL_DEADLINE_MS = 10_000;
/** Calls that cross the cluster (init waits for an election, join for a certificate) or wait out a stop. */
export const CLUSTER_CALL_DEADLINE_MS = 60_000;
/** A reply body the client reads whole (inspect, list); a larger one is a daemon bug, not data. */
const REPLY_BYTES_MAX = 64 * 1024 * 1024;
/** An error body: Docker's `{"message": …}`, which is short. */
const ERROR_BYTES_MAX = 64 * 1024;

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body; or raw bytes / a stream of them with `contentType`. */
  json?: unknown;
  body?: Buffer | AsyncIterable<Buffer>;
  contentType?: string;
  headers?: OutgoingHttpHeaders;
  /**
   * For a whole call (json, empty): the answer must be complete within this. For a stream: its
   * headers must arrive within this; the stream itself may then last as long as it lasts.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** How an HTTP status reads as tswarm's code when the daemon named none (a proxy, an older daemon). */
const STATUS_CODES_FALLBACK: Record<number, ErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'RESOURCE_EXHAUSTED',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function unreachable(host: string, cause?: unknown): TswarmError {
  return new TswarmError(
    'DAEMON_UNREACHABLE',
    `cannot reach tswarmd at ${host}. Is it running? Start it with \`tswarmd\` (see README)`,
    { cause },
  );
}

/** A socket error before any answer: the daemon is not there, or this user may not talk to it. */
function connectError(host: string, err: NodeJS.ErrnoException): TswarmError {
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return new TswarmError(
      'PERMISSION_DENIED',
      `permission denied on ${host}. Run as root or as a member of the tswarm group`,
      { cause: err },
    );
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') return unreachable(host, err);
  return new TswarmError('UNAVAILABLE', `the connection to tswarmd at ${host} failed: ${err.message}`, { cause: err });
}

async function readAll(res: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > bytesMax) {
      res.destroy();
      throw new TswarmError('RESOURCE_EXHAUSTED', `tswarmd's answer is larger than ${bytesMax} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The daemon's error answer as the TswarmError it threw: its code from the header, its message from the body. */
async function errorOf(res: IncomingMessage): Promise<TswarmError> {
  const status = res.statusCode ?? 500;
  let message = `tswarmd answered ${status}`;
  try {
    const text = (await readAll(res, ERROR_BYTES_MAX)).toString('utf8');
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string' && body.message) message = body.message;
    } catch {
      if (text.trim()) message = text.trim();
    }
  } catch {
    // The status alone still says what failed.
  }
  const sent = res.headers[ERROR_CODE_HEADER];
  const code =
    typeof sent === 'string' && isErrorCode(sent) ? sent : (STATUS_CODES_FALLBACK[status] ?? ('INTERNAL' as const));
  return new TswarmError(code, message);
}

/**
 * Why the daemon cut a stream short, from the trailers it ended with (read once the body has
 * ended); undefined for a stream that ended as it should.
 */
export function streamFailure(res: IncomingMessage): TswarmError | undefined {
  const code = res.trailers[ERROR_CODE_HEADER];
  if (!code) return undefined;
  let message = 'tswarmd cut the stream short';
  try {
    message = decodeURIComponent(res.trailers[ERROR_MESSAGE_TRAILER] ?? message);
  } catch {
    // An undecodable message: the code still says what happened.
  }
  return new TswarmError(isErrorCode(code) ? code : 'INTERNAL', message);
}

function pathWithQuery(path: string, query: CallOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const q = params.toString();
  return `/v${API_VERSION_MAX}${path}${q ? `?${q}` : ''}`;
}

/**
 * tswarm's client of the Engine API on a node's local socket: plain HTTP/1.1 and JSON over
 * node:http, as the docker CLI speaks to dockerd, so a command starts without loading HTTP/2 or
 * gRPC. A small pool of kept-alive connections serves a command's calls (one, for most commands).
 */
export class ApiClient {
  private readonly socketPath: string;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(readonly host: string) {
    this.socketPath = unixSocketPath(host);
    if (!existsSync(this.socketPath)) throw unreachable(host);
  }

  /**
   * Sends a request and gives the answer once its headers are in; an error status becomes the
   * daemon's TswarmError. The caller reads (or destroys) the body.
   */
  async request(method: string, path: string, opts: CallOptions = {}): Promise<IncomingMessage> {
    const headers: OutgoingHttpHeaders = { Host: 'tswarm', ...opts.headers };
    let payload: Buffer | AsyncIterable<Buffer> | undefined = opts.body;
    if (opts.json !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.json));
      headers['Content-Type'] = 'application/json';
    } else if (opts.contentType) headers['Content-Type'] = opts.contentType;
    if (Buffer.isBuffer(payload)) headers['Content-Length'] = String(payload.length);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({
        socketPath: this.socketPath,
        agent: this.agent,
        method,
        path: pathWithQuery(path, opts.query),
        headers,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      // The deadline runs from when the request has a connection: a call queued behind the pool's
      // busy connections (stats of many containers) is not yet the daemon's to answer.
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeoutMs !== undefined)
        req.once('socket', () => {
          timer = setTimeout(
            () =>
              req.destroy(
                new TswarmError(
                  'DEADLINE_EXCEEDED',
                  `tswarmd did not answer ${method} ${path} within ${opts.timeoutMs} ms. Check its log (journalctl -u tswarmd)`,
                ),
              ),
            opts.timeoutMs,
          );
        });
      req.once('response', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err instanceof TswarmError || err.name === 'AbortError' ? err : connectError(this.host, err));
      });
      if (payload === undefined || Buffer.isBuffer(payload)) req.end(payload);
      else
        void pump(payload, req).catch((err: unknown) =>
          // The body's own source failed (an archive that cannot be read): that, not the daemon.
          req.destroy(
            err instanceof TswarmError
              ? err
              : new TswarmError('INVALID_ARGUMENT', `cannot read what to send: ${(err as Error).message}`, {
                  cause: err,
                }),
          ),
        );
    });
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    return res;
  }

  /** A whole call: its JSON answer (undefined for an empty one), within `timeoutMs` (10 s by default). */
  async json<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? LOCAL_CALL_DEADLINE_MS;
    const res = await this.request(method, path, { ...opts, timeoutMs });
    const body = await withDeadline(readAll(res, REPLY_BYTES_MAX), res, timeoutMs, `${method} ${path}`);
    if (body.length === 0) return undefined as T;
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      throw new TswarmError('INTERNAL', `tswarmd's answer to ${method} ${path} is not JSON`, { cause: err });
    }
  }

  /** A streamed answer of one JSON object per line (image pulls and loads): each as it comes. */
  async *jsonStream<T>(method: string, path: string, opts: CallOptions = {}): AsyncGenerator<T> {
    const res = await this.request(method, path, { timeoutMs: LOCAL_CALL_DEADLINE_MS, ...opts });
    try {
      yield* readJsonLines<T>(res);
    } finally {
      res.destroy();
    }
  }

  /**
   * Takes over the connection (`Upgrade: tcp`), as attach and exec start do: the socket then
   * carries the container's streams both ways. `head` is what arrived with the 101's headers.
   */
  hijack(method: string, path: string, opts: CallOptions = {}): Promise<{ socket: Socket; head: Buffer }> {
    const body = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : undefined;
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        socketPath: this.socketPath,
        // Its own connection: once upgraded it belongs to the stream, never back to the pool.
        agent: false,
        method,
        path: pathWithQuery(path, opts.query),
        headers: {
          Host: 'tswarm',
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}),
        },
      });
      const timer = setTimeout(
        () => req.destroy(new TswarmError('DEADLINE_EXCEEDED', `tswarmd did not answer ${method} ${path} in time`)),
        opts.timeoutMs ?? LOCAL_CALL_DEADLINE_MS,
      );
      req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
        clearTimeout(timer);
        resolve({ socket, head });
      });
      req.once('response', (res) => {
        clearTimeout(timer);
        if ((res.statusCode ?? 500) >= 400) errorOf(res).then(reject, reject);
        else {
          res.destroy();
          reject(new TswarmError('INTERNAL', `tswarmd did not take over the connection for ${method} ${path}`));
        }
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err instanceof TswarmError ? err : connectError(this.host, err));
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Writes a streamed body, waiting for the socket to drain so memory stays flat. */
async function pump(source: AsyncIterable<Buffer>, req: import('node:http').ClientRequest): Promise<void> {
  for await (const chunk of source) {
    if (req.destroyed) return;
    if (!req.write(chunk)) await new Promise<void>((resolve) => req.once('drain', resolve));
  }
  req.end();
}

function withDeadline<T>(work: Promise<T>, res: IncomingMessage, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      res.destroy();
      reject(new TswarmError('DEADLINE_EXCEEDED', `tswarmd did not finish answering ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
