import { TswarmError } from './errors.js';

/** The local API socket, as /var/run/docker.sock is Docker's (docs/architecture.md, Data directory). */
export const DEFAULT_HOST = 'unix:///run/tswarm/tswarm.sock';

/**
 * The daemon address: --host, else TSWARM_HOST, else the default socket (as DOCKER_HOST works).
 * Apart from the client so the CLI can name the host without loading it.
 */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['TSWARM_HOST'] ?? DEFAULT_HOST;
}

/** The socket path of a `unix:///path` host, the only form the local API listens on. */
export function unixSocketPath(host: string): string {
  const match = /^unix:\/\/(\/.+)$/.exec(host);
  if (!match?.[1]) {
    throw new TswarmError('USAGE', `invalid host "${host}". Use the form unix:///path/to/tswarm.sock`);
  }
  return match[1];
}
