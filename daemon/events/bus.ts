import { systemClock, type Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { eventBytes, eventMessage, NS_PER_MS, type EventMessage, type EventType } from './message.js';

/**
 * Recent events kept for `since`: dockerd keeps 256; tswarm keeps more, since a swarm manager's
 * node and service events share the ring with the engine's, and bounds it by size as well, so
 * containers with large labels cannot make it hold much memory.
 */
export const RING_EVENTS_MAX = 1_024;
export const RING_BYTES_MAX = 8 * 1024 * 1024;
/** Events waiting for one slow reader (dockerd's per-subscriber buffer is 1,024 too). */
export const SUBSCRIBER_QUEUE_EVENTS_MAX = 1_024;
/** Streams open at once (each may hold a full queue); one more is refused. */
export const SUBSCRIBERS_MAX = 256;

export interface SubscribeOptions {
  /** Replay the kept events at or after this time (ns). */
  sinceNano?: bigint;
  /** Only events at or before this time (ns), replayed and live. */
  untilNano?: bigint;
  /** Which events this reader wants (its filters); every event when absent. */
  include?: (m: EventMessage) => boolean;
}

/**
 * The node's event bus: every part that does something worth telling (the engine, the swarm's
 * store on a manager) publishes here; each `GET /events` subscribes. It keeps a bounded ring of
 * recent events for readers that ask for the past (`since`), and gives each reader a bounded
 * queue: a reader that falls that far behind is cut off with an error rather than letting the
 * daemon's memory grow (dockerd instead drops events for a reader that is 100 ms late, silently).
 */
export class EventBus {
  private ring: EventMessage[] = [];
  private ringBytes = 0;
  private readonly subscribers = new Set<EventSubscription>();
  private lastLocalNano = 0n;
  private closed = false;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly limits = {
      ringEventsMax: RING_EVENTS_MAX,
      ringBytesMax: RING_BYTES_MAX,
      queueEventsMax: SUBSCRIBER_QUEUE_EVENTS_MAX,
      subscribersMax: SUBSCRIBERS_MAX,
    },
  ) {}

  /**
   * An event of this node, stamped now. Times of local events never repeat or go back (two in one
   * millisecond are a nanosecond apart), so `since` and `until` cut between them the same way on
   * every read.
   */
  log(type: EventType, action: string, id: string, attributes: Record<string, string>): EventMessage {
    let now = BigInt(Math.round(this.clock.nowMs())) * NS_PER_MS;
    if (now <= this.lastLocalNano) now = this.lastLocalNano + 1n;
    this.lastLocalNano = now;
    const m = eventMessage(type, action, id, attributes, 'local', now);
    this.publish(m);
    return m;
  }

  /** An event stamped by its source (a swarm event carries the time its change was proposed). */
  publish(m: EventMessage): void {
    if (this.closed) return;
    this.ring.push(m);
    this.ringBytes += eventBytes(m);
    while (
      this.ring.length > this.limits.ringEventsMax ||
      (this.ringBytes > this.limits.ringBytesMax && this.ring.length > 1)
    )
      this.ringBytes -= eventBytes(this.ring.shift()!);
    for (const s of this.subscribers) s.offer(m);
  }

  /**
   * A reader of the events from now on, after the kept ones it asked for: with `since`, those at or
   * after it; with only `until`, every kept one up to it (as dockerd replays); with neither, none.
   * The replay and the subscription are taken together, so no event falls between them.
   */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    if (this.closed) throw new TswarmError('UNAVAILABLE', 'the daemon is stopping. Try again once it is back');
    if (this.subscribers.size >= this.limits.subscribersMax)
      throw new TswarmError(
        'RESOURCE_EXHAUSTED',
        `${this.limits.subscribersMax} event streams are open on this daemon already. Close one and try again`,
      );
    const replay: EventMessage[] = [];
    if (options.sinceNano !== undefined || options.untilNano !== undefined) {
      const since = options.sinceNano ?? 0n;
      // The whole ring, not only up to the first older event: swarm events carry the time their
      // change was proposed, so the ring is in arrival order, not strictly in time order.
      for (const m of this.ring)
        if (m.timeNano >= since && inWindow(m, options) && (options.include?.(m) ?? true)) replay.push(m);
    }
    const s = new EventSubscription(options, replay, this.limits.queueEventsMax, (gone) =>
      this.subscribers.delete(gone),
    );
    this.subscribers.add(s);
    return s;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The events kept for `since`, oldest first (a copy). */
  recent(): EventMessage[] {
    return [...this.ring];
  }

  /** The daemon is stopping: every stream ends (cleanly), and nothing more is published. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) s.close();
  }
}

function inWindow(m: EventMessage, o: SubscribeOptions): boolean {
  return o.untilNano === undefined || m.timeNano <= o.untilNano;
}

/**
 * One reader's events: the replay first, then live ones as they are published, in order. Its
 * queue is bounded; past the bound the reader is cut off with RESOURCE_EXHAUSTED (its iteration
 * throws), never left to grow.
 */
export class EventSubscription implements AsyncIterable<EventMessage> {
  private queue: EventMessage[];
  private head = 0;
  private waiting: { resolve(r: IteratorResult<EventMessage>): void; reject(err: Error): void } | undefined;
  private closed = false;
  private error: TswarmError | undefined;
  /** Replayed events not yet read: not held to the live bound (the ring they came from is bounded). */
  private replayLeft: number;

  constructor(
    private readonly options: SubscribeOptions,
    replay: EventMessage[],
    private readonly queueEventsMax: number,
    private readonly onClose: (s: EventSubscription) => void,
  ) {
    this.queue = replay;
    this.replayLeft = replay.length;
  }

  /** Called by the bus for every published event; never blocks. */
  offer(m: EventMessage): void {
    if (this.closed || !inWindow(m, this.options)) return;
    if (this.options.include && !this.options.include(m)) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: m, done: false });
      return;
    }
    if (this.queue.length - this.head - this.replayLeft >= this.queueEventsMax) {
      this.end(
        new TswarmError(
          'RESOURCE_EXHAUSTED',
          `this event stream fell more than ${this.queueEventsMax} events behind and was ended. Read it faster, or run it again with --since to pick up where it ended`,
        ),
      );
      return;
    }
    this.queue.push(m);
  }

  next(): Promise<IteratorResult<EventMessage>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as EventMessage;
      if (this.replayLeft > 0) this.replayLeft--;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** Cut off: what is queued is dropped and the reader's next read throws `err`. */
  end(err: TswarmError): void {
    if (this.closed) return;
    this.error = err;
    this.queue = [];
    this.head = 0;
    this.replayLeft = 0;
    this.waiting?.reject(err);
    this.waiting = undefined;
    this.close();
  }

  /** Ends the stream after what is queued; the reader's iteration then finishes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<EventMessage> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
