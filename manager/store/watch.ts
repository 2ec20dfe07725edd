import { TswarmError } from '../../lib/errors.js';
import type { DeepReadonly } from '../../lib/deep-readonly.js';
import { cloneObject, type AnyObject, type Kind } from './kinds.js';

export type ChangeAction = 'create' | 'update' | 'remove';

export interface ChangeEvent {
  action: ChangeAction;
  kind: Kind;
  object: AnyObject;
  /** The store version (Raft index) of the transaction that made the change. */
  version: number;
  /** The proposer's time of that transaction (the same on every manager, as the objects' Meta). */
  timestampMs: number;
  /**
   * The object as it was before an update, for watchers that ask (`includePrevious`): what
   * changed is then known without a copy of the store (SwarmKit's IncludeOldObject; Docker's
   * events name the old and new availability of a node, the old and new replicas of a service).
   * Live changes only: the history a resumed watch replays does not keep it.
   */
  previous?: AnyObject;
}

/** A change as a filter sees it: the store's own event, read-only (no copy is made for it). */
export type ChangeEventView = Readonly<Omit<ChangeEvent, 'object' | 'previous'>> & {
  readonly object: DeepReadonly<AnyObject>;
  readonly previous?: DeepReadonly<AnyObject>;
};

export interface WatchOptions {
  kinds?: readonly Kind[];
  /**
   * Runs when the reader takes events (next, drain), never inside Raft's apply: a slow filter
   * slows only its reader, and one that throws ends only its own watcher, with the error thrown.
   * It sees the shared event, read-only: only the events it lets through are copied, so a watch
   * that wants one node's tasks does not pay a copy of every other node's.
   */
  filter?: (event: ChangeEventView) => boolean;
  /** Events buffered for a slow reader before it is cut off. */
  queueLengthMax?: number;
  /**
   * Resume: the changes made after this store version come first (from the store's history),
   * then live ones. The store refuses with RESYNC_REQUIRED when it no longer holds them all.
   */
  fromVersion?: number;
  /** Updates carry `previous`, the object before the change (copied for this reader only). */
  includePrevious?: boolean;
}

export const WATCH_QUEUE_LENGTH_DEFAULT = 10_000;

/**
 * Each reader gets its own copy of every event it takes, so no reader can change what another
 * reads. Deep-freezing one shared event would be cheaper (one pass per change rather than one copy
 * per reader), but it cannot hold: bytes fields (certificates, the CA key) are Uint8Arrays, which
 * JavaScript cannot freeze. A copy costs the reader that takes it, off the apply path, as every
 * store read already does (MemoryStore.get); the filter runs first, on the shared event typed
 * read-only, so what a reader filters out costs it no copy.
 */
function copyOf(event: ChangeEvent, includePrevious: boolean): ChangeEvent {
  const { previous, ...rest } = event;
  const own: ChangeEvent = { ...rest, object: cloneObject(event.kind, event.object) };
  if (includePrevious && previous) own.previous = cloneObject(event.kind, previous);
  return own;
}

/**
 * One subscriber's view of the store's changes. publish() only queues (it runs in Raft's apply
 * path, so it never runs reader code); the reader filters as it takes. The queue is bounded: a
 * reader that falls that far behind is closed with an error (and must re-list and watch again),
 * because the store must never stall, nor grow without bound, for one slow reader.
 */
export class Watcher implements AsyncIterable<ChangeEvent> {
  /** Published, not yet taken: shared with the store's history and the other watchers, never handed out. */
  private pending: (ChangeEvent | undefined)[] = [];
  private head = 0;
  private waiting: { resolve(r: IteratorResult<ChangeEvent>): void; reject(err: Error): void } | undefined;
  private pumpScheduled = false;
  private closed = false;
  private error: Error | undefined;
  private readonly kinds: ReadonlySet<Kind> | undefined;
  private readonly queueLengthMax: number;
  /** Live changes at or below this version were replayed already, or predate the resume point. */
  private readonly afterVersion: number;

  constructor(
    private readonly options: WatchOptions,
    private readonly onClose: (w: Watcher) => void,
    replay: readonly ChangeEvent[] = [],
  ) {
    this.kinds = options.kinds ? new Set(options.kinds) : undefined;
    this.queueLengthMax = options.queueLengthMax ?? WATCH_QUEUE_LENGTH_DEFAULT;
    this.afterVersion = options.fromVersion ?? 0;
    for (const e of replay) this.publish(e);
  }

  /** Called by the store after each applied transaction; never blocks, never runs the filter. */
  publish(event: ChangeEvent): void {
    if (this.closed) return;
    if (this.kinds && !this.kinds.has(event.kind)) return;
    if (event.version <= this.afterVersion) return;
    if (this.pending.length - this.head >= this.queueLengthMax) {
      this.end(
        new TswarmError(
          'RESOURCE_EXHAUSTED',
          `watch fell more than ${this.queueLengthMax} events behind and was closed. List the objects again and start a new watch`,
        ),
      );
      return;
    }
    this.pending.push(event);
    if (this.waiting && !this.pumpScheduled) {
      // The waiting reader is served after the apply that published returns, not inside it.
      this.pumpScheduled = true;
      queueMicrotask(() => this.pump());
    }
  }

  /** Takes every queued event that passes the filter (for batch consumers such as the orchestrator). */
  drain(): ChangeEvent[] {
    const events: ChangeEvent[] = [];
    for (let e = this.take(); e; e = this.take()) events.push(e);
    if (this.error) throw this.error;
    return events;
  }

  /**
   * Drops every queued event unread: for a reader that only needs to know that something changed
   * (a loop that reads the store again, as WatchLoop does), copying what it would discard is waste.
   */
  skipQueued(): void {
    this.pending = [];
    this.head = 0;
    if (this.error) throw this.error;
  }

  /** Ends the watch with `err` (a slow reader, a throwing filter, the store restored from a snapshot). */
  end(err: Error): void {
    if (this.closed) return;
    this.error = err;
    this.pending = [];
    this.head = 0;
    this.waiting?.reject(err);
    this.waiting = undefined;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<ChangeEvent>> {
    const event = this.take();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<ChangeEvent> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (!this.waiting) return;
    const event = this.take();
    if (!event) return; // filtered out (or the filter threw, which end() answered)
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve({ value: event, done: false });
  }

  /** The next pending event that passes the filter, as this reader's own copy. */
  private take(): ChangeEvent | undefined {
    while (this.head < this.pending.length) {
      const shared = this.pending[this.head]!;
      this.pending[this.head++] = undefined;
      if (this.passes(shared)) return copyOf(shared, this.options.includePrevious ?? false);
      if (this.error) return undefined;
    }
    this.pending = [];
    this.head = 0;
    return undefined;
  }

  private passes(event: ChangeEventView): boolean {
    if (!this.options.filter) return true;
    try {
      return this.options.filter(event);
    } catch (err) {
      this.end(err instanceof Error ? err : new TswarmError('INTERNAL', `watch filter threw ${String(err)}`));
      return false;
    }
  }
}
