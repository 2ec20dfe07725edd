import { ERROR_CODE_METADATA_KEY, TswarmError, type GrpcFailure } from '../lib/errors.js';

/**
 * Whether a failed call to a manager says the manager cannot be reached — the connection refused
 * or reset, the TLS check refused its certificate, no answer before the deadline — rather than
 * that a tswarm manager answered with an error. A manager's own errors carry their code in the
 * trailers (lib/errors.ts); grpc-js's transport failures carry none.
 *
 * The difference decides how a node moves on: past an unreachable manager at once, to the next
 * one, within the same heartbeat period (waiting a period could cost the node its Ready state);
 * past one that answered (no leader yet, "removed" from a lagging replica) at the next beat, as
 * before, since the others would most likely say the same.
 */
export function managerUnreachable(err: unknown): boolean {
  if (!(err instanceof TswarmError)) return false;
  if (err.code !== 'UNAVAILABLE' && err.code !== 'DEADLINE_EXCEEDED') return false;
  const cause = err.cause as Partial<GrpcFailure> | undefined;
  return (cause?.metadata?.get(ERROR_CODE_METADATA_KEY).length ?? 0) === 0;
}
