import type { Metadata, status as GrpcJsStatus, ServiceError } from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { GrpcStatus } from './grpc-status.js';

/**
 * Every error tswarm reports has a stable code; the code alone decides the gRPC status it travels
 * as, the HTTP status of the local API and the exit code the CLI ends with, so scripts and remote callers can rely on both.
 * Messages read "<what happened>. <what to do>.": a reader always learns the next step.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'NOT_A_MANAGER'
  | 'NOT_IN_SWARM'
  /** The cluster removed this node (`node rm`): its certificate names a node the store no longer holds. */
  | 'NODE_REMOVED'
  /** The certificate presented was revoked (its node's role changed since): manager/authz/revocation.ts. */
  | 'CERTIFICATE_REVOKED'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'UNAVAILABLE'
  | 'DAEMON_UNREACHABLE'
  | 'DATA_DIR_LOCKED'
  | 'DEADLINE_EXCEEDED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNSUPPORTED_HOST'
  | 'UNIMPLEMENTED'
  /**
   * A watch cannot go on from where it is (the store was replaced by a snapshot, or the version
   * asked for is older than the history kept): the reader lists the objects again and watches anew.
   */
  | 'RESYNC_REQUIRED'
  /** Stored state failed its checks (a corrupt WAL or snapshot): nothing was guessed or repaired. */
  | 'DATA_CORRUPT'
  | 'INTERNAL';

interface CodeMapping {
  grpc: number;
  /** The HTTP status of the local Engine API, as dockerd answers the same condition. */
  http: number;
  exitCode: number;
}

/** Exit codes: 0 ok, 1 error, 2 usage: scripts can tell a typo from a failure. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

const MAPPING: Record<ErrorCode, CodeMapping> = {
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, exitCode: EXIT_ERROR },
  USAGE: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, exitCode: EXIT_USAGE },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, http: 404, exitCode: EXIT_ERROR },
  ALREADY_EXISTS: { grpc: GrpcStatus.ALREADY_EXISTS, http: 409, exitCode: EXIT_ERROR },
  CONFLICT: { grpc: GrpcStatus.ABORTED, http: 409, exitCode: EXIT_ERROR },
  FAILED_PRECONDITION: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409, exitCode: EXIT_ERROR },
  NOT_A_MANAGER: { grpc: GrpcStatus.PERMISSION_DENIED, http: 503, exitCode: EXIT_ERROR },
  NOT_IN_SWARM: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 503, exitCode: EXIT_ERROR },
  NODE_REMOVED: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403, exitCode: EXIT_ERROR },
  CERTIFICATE_REVOKED: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401, exitCode: EXIT_ERROR },
  PERMISSION_DENIED: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403, exitCode: EXIT_ERROR },
  UNAUTHENTICATED: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401, exitCode: EXIT_ERROR },
  UNAVAILABLE: { grpc: GrpcStatus.UNAVAILABLE, http: 503, exitCode: EXIT_ERROR },
  DAEMON_UNREACHABLE: { grpc: GrpcStatus.UNAVAILABLE, http: 503, exitCode: EXIT_ERROR },
  DATA_DIR_LOCKED: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409, exitCode: EXIT_ERROR },
  DEADLINE_EXCEEDED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504, exitCode: EXIT_ERROR },
  RESOURCE_EXHAUSTED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413, exitCode: EXIT_ERROR },
  UNSUPPORTED_HOST: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 500, exitCode: EXIT_ERROR },
  UNIMPLEMENTED: { grpc: GrpcStatus.UNIMPLEMENTED, http: 501, exitCode: EXIT_ERROR },
  // etcd answers a watch from a compacted revision with OUT_OF_RANGE; HTTP's 410 Gone says the same.
  RESYNC_REQUIRED: { grpc: GrpcStatus.OUT_OF_RANGE, http: 410, exitCode: EXIT_ERROR },
  DATA_CORRUPT: { grpc: GrpcStatus.DATA_LOSS, http: 500, exitCode: EXIT_ERROR },
  INTERNAL: { grpc: GrpcStatus.INTERNAL, http: 500, exitCode: EXIT_ERROR },
};

const ERROR_CODES = new Set(Object.keys(MAPPING));

/** The metadata key that carries the tswarm code across gRPC, so the far side rebuilds the same error. */
export const ERROR_CODE_METADATA_KEY = 'tswarm-error-code';

export class TswarmError extends Error {
  override readonly name = 'TswarmError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get grpcStatus(): GrpcJsStatus {
    return MAPPING[this.code].grpc;
  }

  get exitCode(): number {
    return MAPPING[this.code].exitCode;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return ERROR_CODES.has(value);
}

export function exitCodeFor(code: ErrorCode): number {
  return MAPPING[code].exitCode;
}

export function grpcStatusFor(code: ErrorCode): GrpcJsStatus {
  return MAPPING[code].grpc;
}

export function httpStatusFor(code: ErrorCode): number {
  return MAPPING[code].http;
}

/**
 * An error of a part with its own codes (the Raft WAL's WalError) that knows its TswarmError.
 * Parts below lib/ cannot be imported here, so they convert themselves.
 */
export interface ConvertibleError {
  toTswarmError(): TswarmError;
}

function isConvertible(err: unknown): err is ConvertibleError {
  return typeof (err as Partial<ConvertibleError> | null)?.toTswarmError === 'function';
}

/** Any thrown value as a TswarmError; unknown errors become INTERNAL, keeping the cause. */
export function asTswarmError(err: unknown): TswarmError {
  if (err instanceof TswarmError) return err;
  if (isConvertible(err)) return err.toTswarmError();
  const message = err instanceof Error ? err.message : String(err);
  return new TswarmError('INTERNAL', `internal error: ${message}`, { cause: err });
}

/**
 * grpc-js, loaded on first use rather than imported: this module is on the CLI's start-up path,
 * which never sends an error as a gRPC handler, and loading grpc-js costs it ≈50 ms. The daemon
 * has loaded grpc-js long before its first handler fails, so this require is a cache lookup that
 * returns the very module the server uses.
 */
const requireCjs = createRequire(import.meta.url);
function newMetadata(): Metadata {
  const grpc = requireCjs('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  return new grpc.Metadata();
}

/** The error as a gRPC handler passes it to its callback. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = asTswarmError(err);
  const metadata = newMetadata();
  metadata.set(ERROR_CODE_METADATA_KEY, e.code);
  return { code: e.grpcStatus, details: e.message, metadata };
}

const STATUS_FALLBACK: Partial<Record<number, ErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.ABORTED]: 'CONFLICT',
  [GrpcStatus.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [GrpcStatus.UNIMPLEMENTED]: 'UNIMPLEMENTED',
  [GrpcStatus.DATA_LOSS]: 'DATA_CORRUPT',
  [GrpcStatus.OUT_OF_RANGE]: 'RESYNC_REQUIRED',
};

/** What fromServiceError reads of a failed call: the fields of grpc-js's ServiceError. */
export interface GrpcFailure {
  code: number;
  details: string;
  message: string;
  metadata?: { get(key: string): unknown[] };
}

/** Rebuilds the TswarmError a remote handler threw, from the status and metadata it sent. */
export function fromServiceError(err: GrpcFailure): TswarmError {
  const sent = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const code = typeof sent === 'string' && isErrorCode(sent) ? sent : (STATUS_FALLBACK[err.code] ?? 'INTERNAL');
  return new TswarmError(code, err.details || err.message, { cause: err });
}
