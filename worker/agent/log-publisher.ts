import { Metadata, type ChannelCredentials, type ChannelInterface, type ClientWritableStream } from '@grpc/grpc-js';
import {
  LogBrokerServiceClient,
  type ListenSubscriptionsResponse,
  type LogSubscriptionOptions,
  type PublishLogsRequest,
} from '../../gen/tswarm/v1/logbroker.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { LogLine } from '../../gen/tswarm/v1/objects.js';
import type { Engine } from '../../engine/engine.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { fromServiceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { LABEL_NODE_ID, LABEL_SERVICE_ID, LABEL_TASK_ID } from './task-container.js';

/**
 * Lines one published message carries at most, and its bytes (one more piece may cross it): far
 * below the 4 MiB a gRPC client takes in by default, which a follower's forwarding client is.
 */
export const PUBLISH_LINES_MAX = 500;
export const PUBLISH_BYTES_MAX = 256 * 1024;
/** A line longer than this is published in pieces of this size (Docker's partial log messages). */
export const LINE_PIECE_BYTES_MAX = 16 * 1024;
/** A line waits this long for others to share its message: a burst goes in few messages, a lone line soon. */
const PUBLISH_FLUSH_MS = 20;
/**
 * Not following, a node that has nothing to send for this long says it is still at it: well
 * inside the broker's bound on silence (manager/logbroker/subscription.ts, 5 s).
 */
const PUBLISH_KEEPALIVE_MS = 2_000;
/** How long a node that sent all its lines waits for the broker's answer before it lets go of the stream. */
const PUBLISH_CLOSE_WAIT_MS = 10_000;
/** How often a followed subscription looks for new task containers here (a task started since). */
export const FOLLOW_RESCAN_EVERY_MS = 1_000;
/**
 * Subscriptions this node publishes for at once (the broker caps its own at 256); one beyond is
 * ignored, and the broker names this node as not answering for it.
 */
const SUBSCRIPTIONS_MAX = 256;

export type LogEngine = Pick<Engine, 'containerList' | 'containerLogs'>;

/** A session the agent opened: the publisher's streams ride on its connection and end with it. */
export interface OpenSession {
  addr: string;
  channel: ChannelInterface;
  sessionId: string;
  ended: AbortSignal;
}

export interface LogPublisherOptions {
  nodeId: string;
  engine: LogEngine;
  credentials: (addr: string) => ChannelCredentials;
  clock: Clock;
  log: Logger;
}

/**
 * The node's side of the log broker (SwarmKit's agent: session.logSubscriptions and
 * worker.Subscribe): for each session, a listener for the subscriptions the leader sends this
 * node; for each subscription, the lines of the matching task containers here, read from the
 * engine's log files and published on a stream of their own. Nothing is buffered beyond one
 * message: a reader that reads slowly slows the file reading, never the node's memory.
 */
export class LogPublisher {
  private readonly sessions = new Set<AbortController>();

  constructor(private readonly o: LogPublisherOptions) {}

  /** Listens for subscriptions over the session's connection until the session ends. */
  sessionOpened(session: OpenSession): void {
    const stop = new AbortController();
    this.sessions.add(stop);
    const signal = AbortSignal.any([session.ended, stop.signal]);
    const client = new LogBrokerServiceClient(session.addr, this.o.credentials(session.addr), {
      channelOverride: session.channel,
    });
    void this.listen(client, session.sessionId, signal)
      .catch((err: unknown) => {
        if (!signal.aborted) this.o.log.debug({ err: (err as Error).message }, 'log listener ended');
      })
      .finally(() => this.sessions.delete(stop));
  }

  stop(): void {
    for (const s of this.sessions) s.abort();
  }

  private async listen(client: LogBrokerServiceClient, sessionId: string, signal: AbortSignal): Promise<void> {
    const stream = client.listenSubscriptions({ sessionId }, new Metadata());
    const cancel = () => stream.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    const runs = new Map<string, AbortController>();
    try {
      for await (const m of stream as AsyncIterable<ListenSubscriptionsResponse>) {
        const id = m.subscriptionId;
        if (m.close) {
          runs.get(id)?.abort();
          runs.delete(id);
          continue;
        }
        if (runs.has(id) || runs.size >= SUBSCRIPTIONS_MAX) continue;
        const run = new AbortController();
        runs.set(id, run);
        void this.publish(client, m, AbortSignal.any([signal, run.signal]))
          .catch((err: unknown) =>
            this.o.log.debug({ subscription: id, err: (err as Error).message }, 'log subscription ended'),
          )
          .finally(() => {
            if (runs.get(id) === run) runs.delete(id);
          });
      }
    } catch (err) {
      const e = fromServiceError(err as never);
      // A manager without a log broker (an older version): the session goes on without logs.
      if (e.code === 'UNIMPLEMENTED')
        this.o.log.warn('the managers serve no task logs; `service logs` misses this node');
      else throw e;
    } finally {
      signal.removeEventListener('abort', cancel);
      for (const run of runs.values()) run.abort();
    }
  }

  /** One subscription: says it is on it, publishes its tasks' lines here, and closes once done (not following). */
  private async publish(
    client: LogBrokerServiceClient,
    sub: ListenSubscriptionsResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const options = sub.options ?? { follow: false, sinceMs: 0, stdout: true, stderr: true };
    const selector = sub.selector ?? { serviceIds: [], taskIds: [] };
    const out = new PublishStream(client, sub.subscriptionId, this.o.clock);
    const stop = AbortSignal.any([signal, out.failed]);
    const onStop = () => out.cancel();
    stop.addEventListener('abort', onStop, { once: true });
    try {
      await out.send([], false);
      const matches = (c: ContainerSummary) =>
        c.labels[LABEL_NODE_ID] === this.o.nodeId &&
        !!c.labels[LABEL_TASK_ID] &&
        (selector.taskIds.includes(c.labels[LABEL_TASK_ID]) ||
          selector.serviceIds.includes(c.labels[LABEL_SERVICE_ID] ?? ''));
      const seen = new Set<string>();
      /** The matching containers not seen before. */
      const scan = () => {
        const found = this.o.engine.containerList({ all: true }).filter((c) => matches(c) && !seen.has(c.id));
        for (const c of found) seen.add(c.id);
        return found;
      };
      if (!options.follow) {
        out.keepAlive(PUBLISH_KEEPALIVE_MS);
        // One container after another: the node holds one log in memory at a time, not all of them.
        for (const c of scan()) await this.readContainer(c, options, out, stop);
        if (!stop.aborted) await out.close();
        return;
      }
      const readers = scan().map((c) => this.readContainer(c, options, out, stop));
      // A container that appears later is new since the subscription began: all of its log.
      const { tail: _tail, ...fromStart } = options;
      while (!stop.aborted) {
        await sleep(FOLLOW_RESCAN_EVERY_MS, this.o.clock, stop);
        if (!stop.aborted) for (const c of scan()) readers.push(this.readContainer(c, fromStart, out, stop));
      }
      await Promise.allSettled(readers);
    } finally {
      stop.removeEventListener('abort', onStop);
      out.cancel();
    }
  }

  private async readContainer(
    c: ContainerSummary,
    options: LogSubscriptionOptions,
    out: PublishStream,
    signal: AbortSignal,
  ): Promise<void> {
    const context = {
      nodeId: this.o.nodeId,
      taskId: c.labels[LABEL_TASK_ID]!,
      serviceId: c.labels[LABEL_SERVICE_ID] ?? '',
    };
    try {
      const records = this.o.engine.containerLogs(c.id, {
        follow: options.follow,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(options.sinceMs > 0 ? { sinceMs: options.sinceMs } : {}),
        signal,
      });
      for await (const r of records) {
        if (signal.aborted) return;
        if (r.stream === 'stdout' ? !options.stdout : !options.stderr) continue;
        // A long line goes in pieces, as Docker's log drivers pass it on (16 KiB each): no message
        // outgrows what a manager's forwarding client takes in, whatever a task writes.
        let offset = 0;
        do {
          const data = r.data.subarray(offset, offset + LINE_PIECE_BYTES_MAX);
          await out.add({ ...context, timestampMs: r.timestampMs, stream: r.stream, data });
          offset += LINE_PIECE_BYTES_MAX;
        } while (offset < r.data.length);
      }
    } catch (err) {
      // Removed meanwhile (its task is gone): it has no more lines to give.
      if (!signal.aborted)
        this.o.log.debug({ container: c.id, err: (err as Error).message }, 'could not read a task container’s log');
    }
  }
}

/**
 * A PublishLogs stream with its lines batched: a line joins the waiting message, which goes out
 * when full or PUBLISH_FLUSH_MS after its first line; `add` waits while a full message cannot be
 * written (the transport's buffer is full), so the readers go at the reader's pace.
 */
class PublishStream {
  private readonly call: ClientWritableStream<PublishLogsRequest>;
  private batch: LogLine[] = [];
  private bytes = 0;
  private timer: Timer | undefined;
  private keepAliveTimer: Timer | undefined;
  /** Set once the call is cancelled or ended: nothing more is written to it. */
  private over = false;
  /** Whether a message went out since the last keep-alive tick. */
  private sentSinceTick = false;
  /** Writes in order, one at a time. */
  private writing: Promise<void> = Promise.resolve();
  private readonly failure = new AbortController();
  /** Aborts when the broker ends the stream (the subscription is over, or it refused the node). */
  readonly failed = this.failure.signal;

  constructor(
    client: LogBrokerServiceClient,
    private readonly subscriptionId: string,
    private readonly clock: Clock,
  ) {
    this.call = client.publishLogs(new Metadata(), (err) => this.failure.abort(err ?? new Error('answered')));
  }

  async add(line: LogLine): Promise<void> {
    this.batch.push(line);
    this.bytes += line.data.length;
    if (this.batch.length >= PUBLISH_LINES_MAX || this.bytes >= PUBLISH_BYTES_MAX) return this.flush(false);
    this.timer ??= this.clock.setTimer(PUBLISH_FLUSH_MS, () => void this.flush(false).catch(() => undefined));
  }

  /**
   * The waiting lines, then the end: everything this node has for the subscription was sent.
   * Resolves once the broker has answered (a cancel before that could drop the last lines), or
   * after PUBLISH_CLOSE_WAIT_MS.
   */
  async close(): Promise<void> {
    this.keepAliveTimer?.cancel();
    await this.flush(true);
    this.over = true;
    this.call.end();
    await sleep(PUBLISH_CLOSE_WAIT_MS, this.clock, this.failed);
  }

  /** Sends the lines waiting now (an empty message says "on it", or with `close`, "done"). */
  send(lines: LogLine[], close: boolean): Promise<void> {
    this.sentSinceTick = true;
    this.writing = this.writing.then(() => this.write({ subscriptionId: this.subscriptionId, lines, close }));
    return this.writing;
  }

  /**
   * An empty message whenever `everyMs` passed without one: a node still reading a long log with
   * nothing to send yet (every line before `since`) is not taken for a node that went silent.
   */
  keepAlive(everyMs: number): void {
    this.keepAliveTimer = this.clock.setTimer(everyMs, () => {
      if (!this.sentSinceTick) void this.send([], false).catch(() => undefined);
      this.sentSinceTick = false;
      if (!this.failed.aborted) this.keepAlive(everyMs);
    });
  }

  cancel(): void {
    this.over = true;
    this.keepAliveTimer?.cancel();
    this.timer?.cancel();
    this.call.cancel();
  }

  private flush(close: boolean): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const lines = this.batch;
    this.batch = [];
    this.bytes = 0;
    if (lines.length === 0 && !close) return this.writing;
    return this.send(lines, close);
  }

  private write(message: PublishLogsRequest): Promise<void> {
    if (this.over || this.failed.aborted) return Promise.resolve();
    if (this.call.write(message)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.failed.removeEventListener('abort', done);
        resolve();
      };
      this.call.once('drain', done);
      this.failed.addEventListener('abort', done, { once: true });
    });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, clock: Clock, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
