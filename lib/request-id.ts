import { newId } from './ids.js';

/**
 * A write's request ID travels in this gRPC metadata key, from the daemon that first took the
 * request, through a follower that forwards it, to the leader that proposes it: a retry carries
 * the same ID, so the store applies the write at most once (manager/store/applied-requests.ts).
 */
export const REQUEST_ID_METADATA_KEY = 'tswarm-request-id';

/** A fresh request ID: 128 random bits, like an object ID, so two requests never share one. */
export function newRequestId(): string {
  return newId();
}

/** The ID a call carries, or a fresh one for a caller that sent none (it will not retry with it). */
export function requestIdOf(metadata: { get(key: string): unknown[] } | undefined): string {
  const sent = metadata?.get(REQUEST_ID_METADATA_KEY)[0];
  return typeof sent === 'string' && sent !== '' ? sent : newRequestId();
}
