import { TswarmError, isErrorCode } from '../../lib/errors.js';
import type { AppliedRequest } from '../../gen/tswarm/v1/store.js';
import type { TxResult } from './memory-store.js';

/**
 * The request IDs of transactions applied lately, with their results: a transaction retried
 * with the same ID (its proposer lost the answer, e.g. across a leader change) is answered with
 * the first result instead of being applied again. It is part of the replicated state — recorded
 * at apply, evicted by the applied index, carried in snapshots — so every manager holds the same
 * record and any one of them can answer the retry.
 */

/** A retry comes within seconds; 10,000 transactions cover that at any rate the store sustains. */
export const APPLIED_REQUESTS_MAX = 10_000;
/** Records older than this many store versions are dropped even below the count bound. */
export const APPLIED_REQUEST_AGE_VERSIONS_MAX = 100_000;
/** A request ID is a short token (tswarm makes 25-character IDs): a bound on what one entry may make every manager keep. */
export const REQUEST_ID_CHARS_MAX = 128;

export function checkRequestId(id: string): void {
  if (id.length > REQUEST_ID_CHARS_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `a request ID has at most ${REQUEST_ID_CHARS_MAX} characters, not ${id.length}. Send a shorter one`,
    );
}

export class AppliedRequests {
  /** By request ID, in the order applied (Map keeps insertion order), so the oldest come first. */
  private byId = new Map<string, AppliedRequest>();

  constructor(
    private readonly countMax = APPLIED_REQUESTS_MAX,
    private readonly ageVersionsMax = APPLIED_REQUEST_AGE_VERSIONS_MAX,
  ) {}

  /** The first result of the transaction applied with this ID, if it is still remembered. */
  resultOf(requestId: string): TxResult | undefined {
    const r = this.byId.get(requestId);
    if (!r) return undefined;
    if (r.ok) return { ok: true, version: r.version };
    return { ok: false, code: isErrorCode(r.errorCode) ? r.errorCode : 'INTERNAL', message: r.errorMessage };
  }

  record(requestId: string, version: number, result: TxResult): void {
    this.byId.set(requestId, {
      requestId,
      version,
      ok: result.ok,
      errorCode: result.ok ? '' : result.code,
      errorMessage: result.ok ? '' : result.message,
    });
    this.evict(version);
  }

  /** Called at every applied index: eviction depends only on the log, so it is the same everywhere. */
  evict(appliedVersion: number): void {
    for (const [id, r] of this.byId) {
      if (this.byId.size <= this.countMax && appliedVersion - r.version <= this.ageVersionsMax) break;
      this.byId.delete(id);
    }
  }

  toSnapshot(): AppliedRequest[] {
    return [...this.byId.values()];
  }

  restore(records: readonly AppliedRequest[]): void {
    this.byId = new Map(records.map((r) => [r.requestId, r]));
  }

  get size(): number {
    return this.byId.size;
  }
}
