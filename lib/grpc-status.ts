/**
 * gRPC status codes as plain numbers (the values are fixed by the gRPC spec, doc/statuscodes.md).
 * They live here, not as grpc-js's `status` enum, so code that only maps errors — lib/errors.ts,
 * the CLI's own client — does not load @grpc/grpc-js (≈50 ms of a CLI start). A unit test checks
 * them against grpc-js.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** `14` → `UNAVAILABLE`, as grpc-js spells a status in its error messages. */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? 'UNKNOWN';
}
