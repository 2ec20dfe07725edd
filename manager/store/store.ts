import { TswarmError, type ErrorCode } from '../../lib/errors.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { StoreActionKind, StoreTransaction, type StoreAction } from '../../gen/tswarm/v1/store.js';
import { wrapObject, type Kind, type ObjectOfKind } from './kinds.js';
import type { MemoryStore, TxResult } from './memory-store.js';
import { checkRequestId } from './applied-requests.js';
import type { Watcher, WatchOptions } from './watch.js';

/** Builds of one update, when the ones before conflicted with transactions applied meanwhile. */
export const UPDATE_CONFLICT_ATTEMPTS_MAX = 5;

/** How the store reaches consensus: the Raft node on managers, resolved once the entry is applied here. */
export interface Proposer {
  propose(data: Uint8Array): Promise<TxResult>;
}

/** Collects the changes of one transaction; each names the version it read. */
export class Tx {
  readonly actions: StoreAction[] = [];

  create<K extends Kind>(kind: K, object: ObjectOfKind[K]): void {
    this.actions.push({
      kind: StoreActionKind.STORE_ACTION_KIND_CREATE,
      target: wrapObject(kind, object),
      expectedVersion: 0,
    });
  }

  /** Updates an object read from the store; its meta.version is the version checked at apply. */
  update<K extends Kind>(kind: K, object: ObjectOfKind[K]): void {
    this.actions.push({
      kind: StoreActionKind.STORE_ACTION_KIND_UPDATE,
      target: wrapObject(kind, object),
      expectedVersion: object.meta?.version ?? 0,
    });
  }

  remove<K extends Kind>(kind: K, object: ObjectOfKind[K]): void {
    this.actions.push({
      kind: StoreActionKind.STORE_ACTION_KIND_REMOVE,
      target: wrapObject(kind, object),
      expectedVersion: object.meta?.version ?? 0,
    });
  }
}

/**
 * The store as its users see it: reads from the local replica, writes as transactions proposed
 * through Raft and applied on every manager. Components never call each other; they read here,
 * write here and watch here, so each one works alone from the replicated state (docs/architecture.md,
 * How a request flows).
 */
export class Store {
  constructor(
    readonly replica: MemoryStore,
    private readonly proposer: Proposer,
    private readonly clock: Clock = systemClock,
  ) {}

  get<K extends Kind>(kind: K, id: string): ObjectOfKind[K] | undefined {
    return this.replica.get(kind, id);
  }

  list<K extends Kind>(kind: K, filter?: (o: ObjectOfKind[K]) => boolean): ObjectOfKind[K][] {
    return this.replica.list(kind, filter);
  }

  watch(options?: WatchOptions): Watcher {
    return this.replica.watch(options);
  }

  /**
   * Builds a transaction from the current state and proposes it. Resolves with the version it
   * got; rejects with the typed reason (CONFLICT when something it read kept changing, after
   * UPDATE_CONFLICT_ATTEMPTS_MAX builds). `build` must only read and describe: it may run again.
   *
   * With a `requestId` (one per transaction; a retry of the same request passes the same ID) the
   * transaction is applied at most once: a retry whose first attempt was applied already gets
   * that attempt's result — here at once if this replica has applied it, else at apply. Only
   * applied transactions are recorded (a failed one changed nothing), so a build made again
   * after a conflict carries the same ID.
   */
  async update(build: (tx: Tx, store: MemoryStore) => void, options: UpdateOptions = {}): Promise<number> {
    const requestId = options.requestId ?? '';
    if (requestId !== '') {
      checkRequestId(requestId);
      const first = this.replica.resultOfRequest(requestId);
      if (first) return answer(first);
    }
    let previous: { actions: Uint8Array; code: ErrorCode; message: string } | undefined;
    for (let attempt = 1; ; attempt++) {
      const tx = new Tx();
      build(tx, this.replica);
      if (tx.actions.length === 0) return this.replica.version;
      const actions = StoreTransaction.encode({ actions: tx.actions, timestampMs: 0, requestId: '' }).finish();
      // The same changes at the same versions would conflict again: a build that carries a
      // version it was given (a client's `node update` of what it read) gets CONFLICT at once.
      if (previous && Buffer.from(previous.actions).equals(actions))
        throw new TswarmError(previous.code, previous.message);
      const data = StoreTransaction.encode({
        actions: tx.actions,
        timestampMs: this.clock.nowMs(),
        requestId,
      }).finish();
      const result = await this.proposer.propose(data);
      if (result.ok) return result.version;
      // Another transaction changed what this one read while it was in flight (the dispatcher
      // marking a node down while JoinRaft records it, say). The build reads the replica, which
      // now holds that change: build again.
      if (result.code !== 'CONFLICT' || attempt >= UPDATE_CONFLICT_ATTEMPTS_MAX) return answer(result);
      previous = { actions, code: result.code, message: result.message };
    }
  }
}

export interface UpdateOptions {
  /** The request this transaction carries out (manager/store/applied-requests.ts). */
  requestId?: string;
}

function answer(result: TxResult): number {
  if (!result.ok) throw new TswarmError(result.code, result.message);
  return result.version;
}
