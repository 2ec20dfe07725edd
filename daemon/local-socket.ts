import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { chmod, chown, mkdir, readFile, unlink, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { SystemServiceClient } from '../gen/tswarm/v1/system.js';
import { callUnary } from '../lib/grpc.js';
import { Metadata } from '@grpc/grpc-js';

/** Root and the `tswarm` group may use the socket: whoever can open it is this node's operator. */
export const SOCKET_MODE = 0o660;
/** sun_path holds 108 bytes including the terminating NUL. */
const SOCKET_PATH_BYTES_MAX = 107;
const PROBE_DEADLINE_MS = 1_000;

async function groupId(name: string): Promise<number | undefined> {
  try {
    const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
    const gid = line?.split(':')[2];
    return gid === undefined ? undefined : Number(gid);
  } catch {
    return undefined;
  }
}

/** True when some daemon answers on the socket: then it is not ours to remove. */
async function socketAnswers(path: string): Promise<boolean> {
  const client = new SystemServiceClient(`unix://${path}`, credentials.createInsecure());
  try {
    await callUnary(client.version.bind(client), new Metadata(), {}, PROBE_DEADLINE_MS);
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/**
 * Binds the gRPC server on the local Unix socket. A socket file left by a crashed daemon is
 * replaced; one that still answers belongs to a live daemon (with another data dir) and is refused.
 */
export async function bindLocalSocket(server: Server, socketPath: string): Promise<void> {
  if (Buffer.byteLength(socketPath) > SOCKET_PATH_BYTES_MAX) {
    throw new TswarmError(
      'USAGE',
      `socket path ${socketPath} is longer than ${SOCKET_PATH_BYTES_MAX} bytes. Choose a shorter --host path`,
    );
  }
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  const existing = await lstat(socketPath).catch(() => undefined);
  if (existing) {
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
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => {
      if (err)
        reject(new TswarmError('UNAVAILABLE', `cannot listen on unix://${socketPath}: ${err.message}`, { cause: err }));
      else resolve();
    });
  });
  await chmod(socketPath, SOCKET_MODE);
  const gid = await groupId('tswarm');
  await chown(socketPath, 0, gid ?? 0).catch(() => undefined);
}

export async function removeSocket(socketPath: string): Promise<void> {
  await unlink(socketPath).catch(() => undefined);
}
