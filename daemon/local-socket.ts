import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { chmod, chown, mkdir, readFile, unlink, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** Root and the `tswarm` group may use the socket: whoever can open it is this node's operator. */
export const SOCKET_MODE = 0o660;
/** sun_path holds 108 bytes including the terminating NUL. */
const SOCKET_PATH_BYTES_MAX = 107;
const PROBE_DEADLINE_MS = 1_000;
/** HTTP/2's connection preface: a gRPC client (the tswarm CLI today) opens with it. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** A connection that has not said which protocol it speaks within this is closed. */
const SNIFF_TIMEOUT_MS = 10_000;
/** How often a closing socket looks whether its connections are gone. */
const CLOSE_POLL_MS = 50;

async function groupId(name: string): Promise<number | undefined> {
  try {
    const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
    const gid = line?.split(':')[2];
    return gid === undefined ? undefined : Number(gid);
  } catch {
    return undefined;
  }
}

/**
 * True when a process accepts connections on the socket: then it is not ours to remove, whatever
 * protocol it speaks or however slow it is. Only a refused connection means a stale file.
 */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(true);
    }, PROBE_DEADLINE_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function checkPathLength(path: string, flag: string): void {
  if (Buffer.byteLength(path) > SOCKET_PATH_BYTES_MAX) {
    throw new TswarmError(
      'USAGE',
      `socket path ${path} is longer than ${SOCKET_PATH_BYTES_MAX} bytes. Choose a shorter ${flag}`,
    );
  }
}

/** Replaces a socket file a crashed daemon left; refuses one a live daemon answers on, or a non-socket. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const existing = await lstat(socketPath).catch(() => undefined);
  if (!existing) return;
  if (!existing.isSocket()) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${socketPath} exists and is not a socket. Remove it or choose another --host`,
    );
  }
  if (await socketAnswers(socketPath)) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `another tswarmd already serves ${socketPath}. Stop it, or give this daemon another --host`,
    );
  }
  await unlink(socketPath);
}

/**
 * The local socket speaks the Docker Engine API (HTTP/1.1). While the tswarm CLI still speaks
 * gRPC to the daemon, a connection that opens with HTTP/2's preface is passed, byte for byte, to
 * the gRPC server on a private socket in the data dir (mode 0700, so only root reaches it
 * directly); every other connection goes to the HTTP server. The CLI's move to HTTP removes the
 * gRPC half.
 */
export class LocalSocket {
  private constructor(
    private readonly front: NetServer,
    private readonly grpc: GrpcServer,
    readonly path: string,
    private readonly grpcPath: string,
    /** Every connection the socket accepted and still holds, whichever server it went to. */
    private readonly sockets: Set<Socket>,
  ) {}

  static async bind(options: {
    socketPath: string;
    grpcSocketPath: string;
    grpc: GrpcServer;
    http: HttpServer;
    log: Logger;
  }): Promise<LocalSocket> {
    const { socketPath, grpcSocketPath } = options;
    checkPathLength(socketPath, '--host path');
    checkPathLength(grpcSocketPath, '--data-dir');
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await clearStaleSocket(socketPath);
    await unlink(grpcSocketPath).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      options.grpc.bindAsync(`unix://${grpcSocketPath}`, ServerCredentials.createInsecure(), (err) => {
        if (err)
          reject(
            new TswarmError('UNAVAILABLE', `cannot listen on unix://${grpcSocketPath}: ${err.message}`, { cause: err }),
          );
        else resolve();
      });
    });
    await chmod(grpcSocketPath, 0o600);
    // Node starts its checks of the headers deadline (a half request that stalls is cut off)
    // when an HTTP server starts listening. This one never listens: connections are handed to
    // it. So its checks start the way Node's own 'listening' would start them.
    options.http.emit('listening');
    const sockets = new Set<Socket>();
    const front = createServer({ pauseOnConnect: true }, (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      route(socket, options.http, grpcSocketPath, options.log);
    });
    await new Promise<void>((resolve, reject) => {
      front.once('error', (err) =>
        reject(new TswarmError('UNAVAILABLE', `cannot listen on unix://${socketPath}: ${err.message}`, { cause: err })),
      );
      front.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, SOCKET_MODE);
    const gid = await groupId('tswarm');
    await chown(socketPath, 0, gid ?? 0).catch(() => undefined);
    return new LocalSocket(front, options.grpc, socketPath, grpcSocketPath, sockets);
  }

  /** Stops accepting; calls in flight get `graceMs` to finish, then both servers are cut. */
  async close(http: HttpServer, graceMs: number): Promise<void> {
    this.front.close();
    this.grpc.tryShutdown(() => undefined);
    http.closeIdleConnections();
    // The HTTP server never listens (connections are handed to it), so its close() waits for
    // nothing: the accepted sockets are what in-flight calls hold. They get `graceMs`, then go.
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CLOSE_POLL_MS));
      http.closeIdleConnections();
    }
    this.grpc.forceShutdown();
    http.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await unlink(this.path).catch(() => undefined);
    await unlink(this.grpcPath).catch(() => undefined);
  }
}

/** Reads until the first bytes say HTTP/2 (gRPC) or not, then hands the connection over. */
function route(socket: Socket, http: HttpServer, grpcSocketPath: string, log: Logger): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (isHttp2 && seen.length < HTTP2_PREFACE.length) return; // not decided yet
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    if (isHttp2) toGrpc(socket, seen, grpcSocketPath, log);
    else {
      socket.unshift(seen);
      http.emit('connection', socket);
      socket.resume();
    }
  };
  const onEnd = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', () => socket.destroy());
  socket.resume();
}

function toGrpc(socket: Socket, first: Buffer, grpcSocketPath: string, log: Logger): void {
  const upstream = connect(grpcSocketPath);
  upstream.write(first);
  socket.pipe(upstream).pipe(socket);
  const closeBoth = (err?: Error) => {
    if (err) log.debug({ err: err.message }, 'local gRPC connection ended');
    socket.destroy();
    upstream.destroy();
  };
  socket.on('error', closeBoth);
  upstream.on('error', closeBoth);
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.resume();
}
