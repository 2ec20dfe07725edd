import { type Server as HttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { chmod, chown, mkdir, readFile, unlink, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** Root and the `tswarm` group may use the socket: whoever can open it is this node's operator. */
export const SOCKET_MODE = 0o660;
/** sun_path holds 108 bytes including the terminating NUL. */
const SOCKET_PATH_BYTES_MAX = 107;
const PROBE_DEADLINE_MS = 1_000;
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
 * The local socket: the node's Docker Engine API server (HTTP/1.1) listening on a unix socket,
 * mode 0660 for root and the `tswarm` group, as docker.sock is (docs/security.md, The local
 * socket). It tracks its connections itself: a hijacked one (attach, exec) leaves the HTTP
 * server's books at the upgrade, and shutdown must still end it.
 */
export class LocalSocket {
  private constructor(
    private readonly http: HttpServer,
    readonly path: string,
    /** Every connection the socket accepted and still holds, upgraded ones included. */
    private readonly sockets: Set<Socket>,
  ) {}

  static async bind(options: { socketPath: string; http: HttpServer; log: Logger }): Promise<LocalSocket> {
    const { socketPath, http } = options;
    checkPathLength(socketPath, '--host path');
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await clearStaleSocket(socketPath);
    const sockets = new Set<Socket>();
    http.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err) =>
        reject(new TswarmError('UNAVAILABLE', `cannot listen on unix://${socketPath}: ${err.message}`, { cause: err })),
      );
      http.listen(socketPath, () => resolve());
    });
    // Made under the process's umask (022: only root may connect), then opened to the group.
    await chmod(socketPath, SOCKET_MODE);
    const gid = await groupId('tswarm');
    await chown(socketPath, 0, gid ?? 0).catch(() => undefined);
    http.on('error', (err) => options.log.error({ err }, 'local API socket failed'));
    return new LocalSocket(http, socketPath, sockets);
  }

  /** Stops accepting; calls in flight get `graceMs` to finish, then every connection is cut. */
  async close(graceMs: number): Promise<void> {
    this.http.close();
    this.http.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CLOSE_POLL_MS));
      this.http.closeIdleConnections();
    }
    this.http.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await unlink(this.path).catch(() => undefined);
  }
}
