import { TswarmError } from '../../lib/errors.js';
import type { AnyObject, Kind } from './kinds.js';

export type ChangeAction = 'create' | 'update' | 'remove';

export interface ChangeEvent {
  action: ChangeAction;
  kind: Kind;
  object: AnyObject;
  /** The store version (Raft index) of the transaction that made the change. */
  version: number;
}

export interface WatchOptions {
  kinds?: readonly Kind[];
  filter?: (event: ChangeEvent) => boolean;
  /** Events buffered for a slow reader before it is cut off. */
  queueLengthMax?: number;
}

export const WATCH_QUEUE_LENGTH_DEFAULT = 10_000;

/**
 * One subscriber's view of the store's changes. The queue is bounded: a reader that falls that
 * far behind is closed with an error (and must re-list and watch again), because the store must
 * never stall, nor grow without bound, for one slow reader.
 */
export class Watcher implements AsyncIterable<ChangeEvent> {
  private queue: ChangeEvent[] = [];
  private waiting: ((r: IteratorResult<ChangeEvent>) => void) | undefined;
  private failWaiting: ((err: Error) => void) | undefined;
  private closed = false;
  private error: Error | undefined;
  private readonly kinds: ReadonlySet<Kind> | undefined;
  private readonly queueLengthMax: number;

  constructor(
    private readonly options: WatchOptions,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.kinds = options.kinds ? new Set(options.kinds) : undefined;
    this.queueLengthMax = options.queueLengthMax ?? WATCH_QUEUE_LENGTH_DEFAULT;
  }

  /** Called by the store after each applied transaction; never blocks. */
  publish(event: ChangeEvent): void {
    if (this.closed) return;
    if (this.kinds && !this.kinds.has(event.kind)) return;
    if (this.options.filter && !this.options.filter(event)) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      this.failWaiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.queueLengthMax) {
      this.fail(
        new TswarmError(
          'RESOURCE_EXHAUSTED',
          `watch fell more than ${this.queueLengthMax} events behind and was closed. List the objects again and start a new watch`,
        ),
      );
      return;
    }
    this.queue.push(event);
  }

  /** Takes every queued event at once (for batch consumers such as the orchestrator). */
  drain(): ChangeEvent[] {
    const events = this.queue;
    this.queue = [];
    return events;
  }

  private fail(err: Error): void {
    this.error = err;
    this.queue = [];
    if (this.failWaiting) this.failWaiting(err);
    this.waiting = undefined;
    this.failWaiting = undefined;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    if (this.waiting) this.waiting({ value: undefined, done: true });
    this.waiting = undefined;
    this.failWaiting = undefined;
  }

  next(): Promise<IteratorResult<ChangeEvent>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
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
}
