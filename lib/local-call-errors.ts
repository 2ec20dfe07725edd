import { fromServiceError, ERROR_CODE_METADATA_KEY, TswarmError, type GrpcFailure } from './errors.js';
import { GrpcCallError } from './local-grpc/call.js';

/**
 * How the CLI's calls to its local daemon fail, shared by lib/daemon-client.ts (System, Control)
 * and the engine's client (cli/commands/engine-client.ts) without either loading the other's
 * generated messages.
 */

/** A failed local call as a TswarmError: the daemon's own code when it sent one, else the gRPC status's. */
export function fromLocalCall(err: unknown): unknown {
  return err instanceof GrpcCallError ? fromServiceError(err) : err;
}

/**
 * How a failed call on the local socket reads: a socket nobody answers on is "cannot reach
 * tswarmd"; an error the daemon itself sent (even UNAVAILABLE: no leader, registry down) keeps
 * its own code and message.
 */
export function localCallError(host: string, err: unknown): unknown {
  if (err instanceof TswarmError && err.code === 'UNAVAILABLE' && !sentByDaemon(err)) {
    if (/EACCES|permission denied/i.test(err.message)) {
      return new TswarmError(
        'PERMISSION_DENIED',
        `permission denied on ${host}. Run as root or as a member of the tswarm group`,
        { cause: err },
      );
    }
    return unreachable(host, err);
  }
  return err;
}

function sentByDaemon(err: TswarmError): boolean {
  const cause = err.cause as Partial<GrpcFailure> | undefined;
  return (cause?.metadata?.get(ERROR_CODE_METADATA_KEY).length ?? 0) > 0;
}

export function unreachable(host: string, cause?: unknown): TswarmError {
  return new TswarmError(
    'DAEMON_UNREACHABLE',
    `cannot reach tswarmd at ${host}. Is it running? Start it with \`tswarmd\` (see README)`,
    { cause },
  );
}
