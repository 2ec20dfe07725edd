import { credentials, Metadata } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { SystemServiceClient } from '../gen/tswarm/v1/system.js';
import type { InfoResponse, VersionResponse } from '../gen/tswarm/v1/system.js';
import { callUnary, DEFAULT_HOST, unixSocketPath } from './grpc.js';
import { TswarmError } from './errors.js';

/** A local call that takes longer than this means the daemon is stuck, not busy. */
const LOCAL_CALL_DEADLINE_MS = 10_000;

/** The daemon address: --host, else TSWARM_HOST, else the default socket (as DOCKER_HOST works). */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['TSWARM_HOST'] ?? DEFAULT_HOST;
}

function unreachable(host: string, cause?: unknown): TswarmError {
  return new TswarmError('DAEMON_UNREACHABLE', `cannot reach tswarmd at ${host}. Is it running? Start it with \`tswarmd\` (see README)`, { cause });
}

/** The CLI's connection to its local daemon; every failure to connect reads the same way. */
export class DaemonClient {
  private readonly system: SystemServiceClient;

  constructor(readonly host: string) {
    const path = unixSocketPath(host);
    if (!existsSync(path)) throw unreachable(host);
    this.system = new SystemServiceClient(`unix://${path}`, credentials.createInsecure());
  }

  private async call<Res>(fn: () => Promise<Res>): Promise<Res> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TswarmError && err.code === 'UNAVAILABLE') {
        if (/EACCES|permission denied/i.test(err.message)) {
          throw new TswarmError('PERMISSION_DENIED', `permission denied on ${this.host}. Run as root or as a member of the tswarm group`, { cause: err });
        }
        throw unreachable(this.host, err);
      }
      throw err;
    }
  }

  version(): Promise<VersionResponse> {
    return this.call(() => callUnary(this.system.version.bind(this.system), new Metadata(), {}, LOCAL_CALL_DEADLINE_MS));
  }

  info(): Promise<InfoResponse> {
    return this.call(() => callUnary(this.system.info.bind(this.system), new Metadata(), {}, LOCAL_CALL_DEADLINE_MS));
  }

  close(): void {
    this.system.close();
  }
}
