import { assert } from '../../lib/assert.js';
import type { DeepReadonly } from '../../lib/deep-readonly.js';
import type { ErrorCode } from '../../lib/errors.js';
import { StoreActionKind, StoreSnapshot, StoreTransaction, type StoreAction } from '../../gen/tswarm/v1/store.js';
import type { Task } from '../../gen/tswarm/v1/objects.js';
import type { StateMachine } from '../raft/core/state-machine.js';
import {
  cloneObject,
  KINDS,
  uniqueNameOf,
  unwrapObject,
  type AnyObject,
  type Kind,
  type ObjectOfKind,
} from './kinds.js';
import { Watcher, type ChangeEvent, type WatchOptions } from './watch.js';
import { resyncRequired, WatchHistory } from './watch-history.js';
import { AppliedRequests, REQUEST_ID_CHARS_MAX } from './applied-requests.js';

export type TxResult = { ok: true; version: number } | { ok: false; code: ErrorCode; message: string };

/** A bound on one transaction, so a single entry cannot stall every manager's apply loop. */
export const TX_ACTIONS_MAX = 10_000;

/**
 * The managers' replicated object store, as a Raft state machine: apply() takes one committed
 * transaction and either applies all its actions or none (a stale version, a missing object or
 * a taken name fails the whole transaction, the same way on every manager). Objects are stamped
 * with the entry's index as their version and the proposer's timestamp, never the local clock,
 * so every manager's store is identical.
 */
export class MemoryStore implements StateMachine<TxResult> {
  private tables = new Map<Kind, Map<string, AnyObject>>(KINDS.map((k) => [k, new Map()]));
  private names = new Map<Kind, Map<string, string>>(KINDS.map((k) => [k, new Map()]));
  private tasksByService = new Map<string, Set<string>>();
  private tasksByNode = new Map<string, Set<string>>();
  private watchers = new Set<Watcher>();
  private readonly history = new WatchHistory();
  private readonly appliedRequests = new AppliedRequests();
  /** The Raft index of the last transaction applied (0: empty). */
  version = 0;

  get<K extends Kind>(kind: K, id: string): ObjectOfKind[K] | undefined {
    const found = this.tables.get(kind)!.get(id) as ObjectOfKind[K] | undefined;
    return found && cloneObject(kind, found);
  }

  /**
   * The stored object itself, typed read-only, not a copy: for hot paths that read a field or two
   * on every call or message (authorization, a watch filter), where a deep copy of a node with its
   * certificates costs far more than the read. Safe to hold: an apply replaces a stored object, it
   * never changes one in place, so a view keeps showing the version it was taken at.
   */
  peek<K extends Kind>(kind: K, id: string): DeepReadonly<ObjectOfKind[K]> | undefined {
    return this.tables.get(kind)!.get(id) as DeepReadonly<ObjectOfKind[K]> | undefined;
  }

  /** Every stored object of the kind, as peek() gives one: for a read of a field on a hot path. */
  peekAll<K extends Kind>(kind: K): DeepReadonly<ObjectOfKind[K]>[] {
    return [...this.tables.get(kind)!.values()] as DeepReadonly<ObjectOfKind[K]>[];
  }

  list<K extends Kind>(kind: K, filter?: (o: ObjectOfKind[K]) => boolean): ObjectOfKind[K][] {
    const out: ObjectOfKind[K][] = [];
    for (const o of this.tables.get(kind)!.values() as Iterable<ObjectOfKind[K]>)
      if (!filter || filter(o)) out.push(cloneObject(kind, o));
    return out;
  }

  findByName<K extends Kind>(kind: K, name: string): ObjectOfKind[K] | undefined {
    const id = this.names.get(kind)!.get(name);
    return id === undefined ? undefined : this.get(kind, id);
  }

  /** The service's tasks; `filter` runs on the stored tasks, so only those it keeps are copied. */
  tasksOfService(serviceId: string, filter?: (t: DeepReadonly<Task>) => boolean): Task[] {
    return this.tasksIn(this.tasksByService.get(serviceId), filter);
  }

  /** The node's tasks; `filter` as for tasksOfService. */
  tasksOfNode(nodeId: string, filter?: (t: DeepReadonly<Task>) => boolean): Task[] {
    return this.tasksIn(this.tasksByNode.get(nodeId), filter);
  }

  private tasksIn(ids: ReadonlySet<string> | undefined, filter?: (t: DeepReadonly<Task>) => boolean): Task[] {
    const out: Task[] = [];
    for (const id of ids ?? []) {
      const stored = this.tables.get('task')!.get(id) as Task;
      if (!filter || filter(stored)) out.push(cloneObject('task', stored));
    }
    return out;
  }

  /** The first result of the transaction applied with this request ID, while it is remembered. */
  resultOfRequest(requestId: string): TxResult | undefined {
    return this.appliedRequests.resultOf(requestId);
  }

  count(kind: Kind): number {
    return this.tables.get(kind)!.size;
  }

  /** A watch of the changes from now on, or (fromVersion) of those after that version; see WatchOptions. */
  watch(options: WatchOptions = {}): Watcher {
    const replay = options.fromVersion === undefined ? [] : this.history.since(options.fromVersion);
    const w = new Watcher(options, (closed) => this.watchers.delete(closed), replay);
    this.watchers.add(w);
    return w;
  }

  apply(index: number, data: Uint8Array): TxResult {
    assert(index > this.version, `store: entry ${index} applied after version ${this.version}`);
    this.version = index;
    let tx: StoreTransaction;
    try {
      tx = StoreTransaction.decode(data);
    } catch {
      return { ok: false, code: 'INVALID_ARGUMENT', message: `entry ${index} is not a store transaction` };
    }
    this.appliedRequests.evict(index);
    if (tx.requestId === '') return this.applyTransaction(tx, index);
    if (tx.requestId.length > REQUEST_ID_CHARS_MAX)
      return { ok: false, code: 'INVALID_ARGUMENT', message: `entry ${index} carries an over-long request ID` };
    // A retry of a request applied already (its proposer lost the answer): the first result, once.
    const first = this.appliedRequests.resultOf(tx.requestId);
    if (first) return first;
    const result = this.applyTransaction(tx, index);
    // Only what was applied: a failed transaction changed nothing, so its retry may run again
    // (Store.update builds again after a conflict, with the same ID).
    if (result.ok) this.appliedRequests.record(tx.requestId, index, result);
    return result;
  }

  private applyTransaction(tx: StoreTransaction, index: number): TxResult {
    const problem = this.check(tx);
    if (problem) return problem;
    const events: ChangeEvent[] = tx.actions.map((a) => this.applyAction(a, index, tx.timestampMs));
    // The history holds no `previous`: resumed watches replay changes, and keeping every old
    // object beside its successor would double what the history holds.
    for (const e of events) this.history.record(withoutPrevious(e));
    // Only queued here: watchers filter and copy when their readers take (watch.ts).
    for (const w of [...this.watchers]) for (const e of events) w.publish(e);
    return { ok: true, version: index };
  }

  /** Validates a whole transaction against the current state without changing anything. */
  private check(tx: StoreTransaction): TxResult | undefined {
    if (tx.actions.length === 0 || tx.actions.length > TX_ACTIONS_MAX) {
      return {
        ok: false,
        code: 'INVALID_ARGUMENT',
        message: `a transaction holds 1 to ${TX_ACTIONS_MAX} actions, not ${tx.actions.length}`,
      };
    }
    const touched = new Set<string>();
    const claimed = new Map<string, string>();
    for (const action of tx.actions) {
      const target = unwrapObject(action.target);
      if (!target || !target.object.id)
        return { ok: false, code: 'INVALID_ARGUMENT', message: 'a store action names no object' };
      const { kind, object } = target;
      const key = `${kind}/${object.id}`;
      if (touched.has(key))
        return { ok: false, code: 'INVALID_ARGUMENT', message: `${key} is changed twice in one transaction` };
      touched.add(key);
      const current = this.tables.get(kind)!.get(object.id);
      if (action.kind === StoreActionKind.STORE_ACTION_KIND_CREATE) {
        if (current) return { ok: false, code: 'ALREADY_EXISTS', message: `${kind} ${object.id} already exists` };
      } else if (
        action.kind === StoreActionKind.STORE_ACTION_KIND_UPDATE ||
        action.kind === StoreActionKind.STORE_ACTION_KIND_REMOVE
      ) {
        if (!current) return { ok: false, code: 'NOT_FOUND', message: `${kind} ${object.id} does not exist` };
        const version = current.meta?.version ?? 0;
        if (version !== action.expectedVersion) {
          return {
            ok: false,
            code: 'CONFLICT',
            message: `${kind} ${object.id} changed since it was read (version ${action.expectedVersion}, now ${version}). Read it again and retry`,
          };
        }
      } else {
        return { ok: false, code: 'INVALID_ARGUMENT', message: `unknown store action ${action.kind}` };
      }
      if (action.kind !== StoreActionKind.STORE_ACTION_KIND_REMOVE) {
        const name = uniqueNameOf(kind, object);
        if (name !== undefined) {
          const owner = claimed.get(`${kind}/${name}`) ?? this.names.get(kind)!.get(name);
          if (owner !== undefined && owner !== object.id)
            return { ok: false, code: 'ALREADY_EXISTS', message: `a ${kind} named "${name}" already exists` };
          claimed.set(`${kind}/${name}`, object.id);
        }
      }
    }
    return undefined;
  }

  private applyAction(action: StoreAction, index: number, timestampMs: number): ChangeEvent {
    const { kind, object } = unwrapObject(action.target)!;
    const table = this.tables.get(kind)!;
    const current = table.get(object.id);
    if (current) this.unindex(kind, current);
    if (action.kind === StoreActionKind.STORE_ACTION_KIND_REMOVE) {
      table.delete(object.id);
      return { action: 'remove', kind, object: cloneObject(kind, current!), version: index, timestampMs };
    }
    const stored = cloneObject(kind, object);
    stored.meta = {
      id: object.id,
      version: index,
      createdAtMs: current?.meta?.createdAtMs ?? timestampMs,
      updatedAtMs: timestampMs,
    };
    table.set(object.id, stored);
    this.index(kind, stored);
    // `current` left the table above: nothing changes it any more, so it is the update's `previous`
    // as it is (each watcher that asks copies it when it takes the event).
    const change: ChangeEvent = {
      action: current ? 'update' : 'create',
      kind,
      object: cloneObject(kind, stored),
      version: index,
      timestampMs,
    };
    if (current) change.previous = current;
    return change;
  }

  private index(kind: Kind, object: AnyObject): void {
    const name = uniqueNameOf(kind, object);
    if (name !== undefined) this.names.get(kind)!.set(name, object.id);
    if (kind === 'task') {
      const task = object as Task;
      addTo(this.tasksByService, task.serviceId, task.id);
      addTo(this.tasksByNode, task.nodeId, task.id);
    }
  }

  private unindex(kind: Kind, object: AnyObject): void {
    const name = uniqueNameOf(kind, object);
    if (name !== undefined && this.names.get(kind)!.get(name) === object.id) this.names.get(kind)!.delete(name);
    if (kind === 'task') {
      const task = object as Task;
      removeFrom(this.tasksByService, task.serviceId, task.id);
      removeFrom(this.tasksByNode, task.nodeId, task.id);
    }
  }

  snapshot(): Uint8Array {
    const all = <K extends Kind>(k: K) => [...this.tables.get(k)!.values()] as ObjectOfKind[K][];
    return StoreSnapshot.encode({
      nodes: all('node'),
      clusters: all('cluster'),
      services: all('service'),
      tasks: all('task'),
      networks: all('network'),
      version: this.version,
      appliedRequests: this.appliedRequests.toSnapshot(),
    }).finish();
  }

  restore(data: Uint8Array): void {
    const snap = StoreSnapshot.decode(data);
    for (const kind of KINDS) {
      this.tables.get(kind)!.clear();
      this.names.get(kind)!.clear();
    }
    this.tasksByService.clear();
    this.tasksByNode.clear();
    const load = <K extends Kind>(kind: K, objects: ObjectOfKind[K][]) => {
      for (const o of objects) {
        this.tables.get(kind)!.set(o.id, o);
        this.index(kind, o);
      }
    };
    load('node', snap.nodes);
    load('cluster', snap.clusters);
    load('service', snap.services);
    load('task', snap.tasks);
    load('network', snap.networks);
    this.version = snap.version;
    this.appliedRequests.restore(snap.appliedRequests);
    this.history.reset(snap.version);
    // Watchers saw a history that no longer leads here: they must re-list, and are told so.
    const err = resyncRequired(`the store was replaced by a snapshot at version ${snap.version}`);
    for (const w of [...this.watchers]) w.end(err);
  }
}

function withoutPrevious(e: ChangeEvent): ChangeEvent {
  if (!e.previous) return e;
  const { action, kind, object, version, timestampMs } = e;
  return { action, kind, object, version, timestampMs };
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  if (!key) return;
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}
