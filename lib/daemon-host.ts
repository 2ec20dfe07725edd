import { DEFAULT_HOST } from './grpc.js';

/**
 * The daemon address: --host, else TSWARM_HOST, else the default socket (as DOCKER_HOST works).
 * Apart from lib/daemon-client.ts so the CLI can name the host without loading a client.
 */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['TSWARM_HOST'] ?? DEFAULT_HOST;
}
