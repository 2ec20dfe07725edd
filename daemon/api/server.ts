import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { asTswarmError, httpStatusFor, TswarmError } from '../../lib/errors.js';
import { tswarmVersion } from '../../lib/version.js';
import { BODY_IDLE_MS, JSON_BODY_BYTES_MAX, readBody, readJsonObjectFrom } from './body.js';
import { HttpReply, RawReply, sendError, type Reply } from './reply.js';
import type { ApiRequest, Router } from './router.js';
import { API_VERSION_MAX, parseApiPath } from './versions.js';

/** Headers must arrive within this: a client that sends half a request and stalls is cut off. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** X-Registry-Auth carries base64 credentials; Node's default of 16 KiB is tight for it. */
const HEADER_BYTES_MAX = 64 * 1024;
/** An idle keep-alive connection is closed after this (the docker CLI reconnects as needed). */
const KEEP_ALIVE_MS = 5_000;
/** How often Node checks connections for the headers deadline. */
const CONNECTION_CHECK_MS = 1_000;

/** What dockerd puts on every answer: clients learn the API version and the OS from it. */
function commonHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION_MAX,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `tswarm/${tswarmVersion()} (linux)`,
  };
}

/** The body of an upgraded request: what came with the headers, then the socket, up to Content-Length. */
async function* upgradedBody(req: IncomingMessage, socket: Socket, head: Buffer): AsyncIterable<Buffer> {
  let remaining = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(remaining) || remaining <= 0) return;
  if (head.length > 0) {
    const part = head.subarray(0, remaining);
    remaining -= part.length;
    yield part;
  }
  while (remaining > 0) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), BODY_IDLE_MS);
      const onData = (c: Buffer) => done(c);
      const onEnd = () => done(undefined);
      function done(c: Buffer | undefined) {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
        resolve(c);
      }
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.resume();
    });
    if (!chunk) return;
    const part = chunk.subarray(0, remaining);
    if (part.length < chunk.length) socket.unshift(chunk.subarray(part.length));
    remaining -= part.length;
    yield part;
  }
}

/**
 * A path with `.` or `..` segments (also percent-encoded) is refused: URL parsing would resolve
 * them, so `DELETE /images/../volumes/data` — an image name a script passed on — would reach
 * another object's route. dockerd's router never resolves them either.
 */
function refuseDotSegments(rawUrl: string): void {
  const path = rawUrl.split('?')[0] ?? '';
  for (const segment of path.split('/')) {
    const s = segment.replace(/%2e/gi, '.');
    if (s === '.' || s === '..')
      throw new TswarmError('INVALID_ARGUMENT', `the path ${path} has a "${s}" segment. Name the object itself`);
  }
}

async function* requestBody(req: IncomingMessage): AsyncIterable<Buffer> {
  for await (const chunk of req) yield chunk as Buffer;
}

/**
 * The Docker Engine API on node:http: the version prefix is checked, the route found, the
 * handler run; any error becomes Docker's `{"message": …}` with the HTTP status of its code.
 * Requests that ask to upgrade the connection (attach, exec start) get a raw reply on the socket.
 */
export function createApiServer(router: Router, log: Logger): Server {
  const server = createServer({
    maxHeaderSize: HEADER_BYTES_MAX,
    headersTimeout: HEADERS_TIMEOUT_MS,
    // Streams (logs -f, pulls) may last long; a stalled body is bounded by the body reader instead.
    requestTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_MS,
    connectionsCheckingInterval: CONNECTION_CHECK_MS,
  });

  const dispatch = async (
    req: IncomingMessage,
    reply: Reply,
    body: () => AsyncIterable<Buffer>,
    closed: AbortSignal,
  ) => {
    const started = process.hrtime.bigint();
    let status = 200;
    try {
      refuseDotSegments(req.url ?? '/');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const { version, path } = parseApiPath(url.pathname);
      const method = req.method ?? 'GET';
      const { route, params } = router.match(method, path);
      let consumed = false;
      const takeBody = () => {
        if (consumed) throw new Error('the request body was already read');
        consumed = true;
        return body();
      };
      const apiReq: ApiRequest = {
        method,
        path,
        version,
        params,
        query: url.searchParams,
        headers: req.headers,
        body: (bytesMax = JSON_BODY_BYTES_MAX) => readBody(takeBody(), req.headers, bytesMax),
        json: () => readJsonObjectFrom(takeBody(), req.headers),
        bodyStream: takeBody,
        signal: closed,
        log,
      };
      await route.handler(apiReq, reply);
    } catch (err) {
      const e = asTswarmError(err);
      status = httpStatusFor(e.code);
      if (closed.aborted) {
        // The client left (Ctrl-C on `logs -f`, a closed SDK session): nothing failed here.
        log.debug({ err: e.message, url: req.url }, 'API client went away');
        return;
      }
      if (status >= 500) log.error({ err, method: req.method, url: req.url }, 'API request failed');
      if (!reply.started) sendError(reply, e);
      else log.debug({ err: e.message, url: req.url }, 'API stream ended by an error');
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.debug({ method: req.method, url: req.url, status, ms }, 'API request');
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const ac = new AbortController();
    res.once('close', () => ac.abort());
    void dispatch(req, new HttpReply(res, commonHeaders()), () => requestBody(req), ac.signal);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // The docker CLI half-closes a hijacked connection once it has no more stdin to send; the
    // output must still flow back (Node ends a socket's side when the peer's FIN arrives, unless told not to).
    socket.allowHalfOpen = true;
    // Bytes past the request's body are the client's stream (stdin), read from the socket later.
    const bodyBytes = Number(req.headers['content-length'] ?? 0) || 0;
    if (head.length > bodyBytes) {
      socket.unshift(head.subarray(bodyBytes));
      head = head.subarray(0, bodyBytes);
    }
    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    socket.on('error', () => ac.abort());
    void dispatch(req, new RawReply(socket, commonHeaders()), () => upgradedBody(req, socket, head), ac.signal);
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed requests and the headers deadline: answer when the socket can still take it.
    if (socket.writable && !socket.destroyed) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = JSON.stringify({ message: `bad request: ${err.message}` }) + '\n';
      socket.end(
        `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } else socket.destroy();
  });

  return server;
}
