import type { Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import type { StreamSink } from '../../lib/grpc.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/log.js';
import { NodeState, type LogLine, type Node, type Task } from '../../gen/tswarm/v1/objects.js';
import type {
  ListenSubscriptionsResponse,
  LogSelector,
  LogSubscriptionOptions,
  PublishLogsRequest,
  PublishLogsResponse,
} from '../../gen/tswarm/v1/logbroker.js';
import type { LogNodeWarning, ServiceLogsRequest, ServiceLogsResponse } from '../../gen/tswarm/v1/control.js';
import { LOG_ANSWER_BOUND_MS, LogSubscription, selectNodes, selects } from './subscription.js';
import { Wakeup } from './wakeup.js';

/** Readers at once; one more is refused (RESOURCE_EXHAUSTED) rather than slowing every other. */
export const LOG_SUBSCRIPTIONS_MAX = 256;
/** Service and task IDs one subscription may name. */
export const LOG_SELECTOR_IDS_MAX = 1_000;
/** Lines one published message may carry (a node batches far fewer: worker/agent/log-publisher.ts). */
export const PUBLISH_LINES_PER_MESSAGE_MAX = 10_000;
/**
 * How often a subscription looks at its nodes: silence past the bound, nodes gone DOWN and, when
 * following, new tasks on other nodes. A call that waits on a silent node ends within the bound
 * plus this.
 */
export const LOG_SWEEP_EVERY_MS = 500;
/**
 * Subscription messages one node's listener may hold unsent (two per subscription: open, close).
 * A listener this far behind is ended: its node counts as disconnected.
 */
const LISTENER_QUEUE_MAX = 4 * LOG_SUBSCRIPTIONS_MAX;
/**
 * A listener wakes on each message queued for it and when its session ends; this wake is only a
 * safety net, rare enough that a thousand idle nodes cost nothing.
 */
const LISTENER_IDLE_WAKE_MS = 30_000;

/** What the broker reads of the store. */
export interface LogBrokerStoreView {
  tasksOfService(serviceId: string): Task[];
  task(taskId: string): Task | undefined;
  node(nodeId: string): Node | undefined;
}

export interface LogBrokerOptions {
  store: LogBrokerStoreView;
  clock: Clock;
  log: Logger;
  answerBoundMs?: number;
  sweepEveryMs?: number;
}

interface Running {
  sub: LogSubscription;
  sink: StreamSink<ServiceLogsResponse>;
  wake: Wakeup;
  /** Set once the reader's stream is over: late lines are dropped, not written after its end. */
  over: boolean;
  /** Set when the broker ends the subscription (leadership lost): the reader is told why. */
  endedBy?: TswarmError;
}

interface Listener {
  nodeId: string;
  queue: ListenSubscriptionsResponse[];
  wake: Wakeup;
  end: AbortController;
}

/**
 * The leader's log broker (SwarmKit's manager/logbroker): a reader's subscription is sent to the
 * nodes that hold its tasks, over the listener each node keeps open beside its session; each node
 * publishes its tasks' lines on a stream of its own, which go straight to the reader's stream.
 *
 * Bounded: a node's lines wait for the reader (a slow reader slows the nodes' publishing, which
 * reads on from the log files; nothing piles up here beyond one message per node), subscriptions
 * and their selectors are capped, and a node that does not answer within the bound — or is
 * down, has no session, or disconnects — is named to the reader instead of being waited for.
 */
export class LogBroker {
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Map<string, Listener>();
  private readonly answerBoundMs: number;
  private readonly sweepEveryMs: number;

  constructor(private readonly o: LogBrokerOptions) {
    this.answerBoundMs = o.answerBoundMs ?? LOG_ANSWER_BOUND_MS;
    this.sweepEveryMs = o.sweepEveryMs ?? LOG_SWEEP_EVERY_MS;
  }

  /**
   * A reader's subscription: warnings and lines on `sink` until every node has sent its lines or
   * been named as missing (not following), or until the reader leaves (following).
   */
  async subscribe(req: ServiceLogsRequest, sink: StreamSink<ServiceLogsResponse>): Promise<void> {
    const selector = checkSelector(req.selector);
    const options = checkOptions(req.options);
    if (this.running.size >= LOG_SUBSCRIPTIONS_MAX)
      throw new TswarmError(
        'RESOURCE_EXHAUSTED',
        `${LOG_SUBSCRIPTIONS_MAX} log readers are open on the leader already. Retry once some have ended`,
      );
    const r: Running = { sub: new LogSubscription(newId(), selector, options), sink, wake: new Wakeup(), over: false };
    const wakeOnLeave = () => r.wake.wake();
    sink.signal.addEventListener('abort', wakeOnLeave, { once: true });
    this.running.set(r.sub.id, r);
    this.o.log.debug({ subscription: r.sub.id, selector, follow: options.follow }, 'log subscription opened');
    try {
      this.askNodes(r);
      for (;;) {
        this.sweep(r);
        const warnings = r.sub.takeWarnings().map((w) => this.describe(w.nodeId, w.reason));
        if (warnings.length > 0) await sink.write({ lines: [], warnings });
        if (r.endedBy) throw r.endedBy;
        if (sink.signal.aborted || r.sub.complete()) return;
        await r.wake.sleep(this.sweepEveryMs, this.o.clock);
      }
    } finally {
      r.over = true;
      sink.signal.removeEventListener('abort', wakeOnLeave);
      this.running.delete(r.sub.id);
      // Nodes still at work stop: a followed task's lines have no reader any more.
      for (const nodeId of r.sub.nodeIds())
        if (r.sub.stateOf(nodeId)?.kind !== 'done') this.send(nodeId, closeMessage(r.sub.id));
      this.o.log.debug({ subscription: r.sub.id }, 'log subscription closed');
    }
  }

  /**
   * A node's listener, open beside its session (it ends when the session does): the
   * subscriptions that concern the node now, then each new one (and each close) as it comes.
   */
  async listen(
    nodeId: string,
    sessionEnded: AbortSignal,
    sink: StreamSink<ListenSubscriptionsResponse>,
  ): Promise<void> {
    const previous = this.listeners.get(nodeId);
    if (previous) {
      previous.end.abort();
      this.listeners.delete(nodeId);
      this.loseEverywhere(nodeId, 'disconnected (its session was replaced)');
    }
    const l: Listener = { nodeId, queue: [], wake: new Wakeup(), end: new AbortController() };
    this.listeners.set(nodeId, l);
    const done = AbortSignal.any([sessionEnded, sink.signal, l.end.signal]);
    const wake = () => l.wake.wake();
    done.addEventListener('abort', wake, { once: true });
    // A followed subscription this node was lost from picks up where the reader lost it.
    const nowMs = this.o.clock.nowMs();
    for (const r of this.running.values()) {
      const options = r.sub.resume(nodeId, nowMs);
      if (options) this.send(nodeId, { ...openMessage(r.sub), options });
    }
    try {
      while (!done.aborted) {
        for (const m of l.queue.splice(0)) await sink.write(m);
        if (!done.aborted) await l.wake.sleep(LISTENER_IDLE_WAKE_MS, this.o.clock);
      }
    } finally {
      done.removeEventListener('abort', wake);
      if (this.listeners.get(nodeId) === l) {
        this.listeners.delete(nodeId);
        this.loseEverywhere(nodeId, 'disconnected from the managers');
      }
    }
  }

  /**
   * A node's lines for one subscription. Its first message says it is on it; `close` that it has
   * sent everything. Lines are accepted only for this node's own tasks that the subscription
   * selected, each delivered before the next message is read (the reader's pace is the node's).
   */
  async publish(nodeId: string, messages: AsyncIterable<PublishLogsRequest>): Promise<PublishLogsResponse> {
    let r: Running | undefined;
    try {
      for await (const m of messages) {
        r ??= this.subscriptionFor(nodeId, m.subscriptionId);
        if (m.subscriptionId !== r.sub.id)
          throw new TswarmError(
            'INVALID_ARGUMENT',
            `one PublishLogs stream carries one subscription (${r.sub.id}), not also ${m.subscriptionId}`,
          );
        if (r.over || !this.heardFrom(r, nodeId)) return {};
        const lines = this.authorizeLines(nodeId, r.sub, m.lines);
        if (lines.length > 0) await this.deliver(r, nodeId, lines);
        if (m.close) {
          r.sub.finished(nodeId);
          r.wake.wake();
          return {};
        }
      }
      return {};
    } finally {
      if (r?.sub.pending(nodeId)) {
        r.sub.lose(nodeId, 'stopped publishing before it had sent all its lines', this.o.clock.nowMs());
        r.wake.wake();
      }
    }
  }

  /** Leadership lost (or the manager stops): every reader is told to ask the new leader. */
  stopLeading(): void {
    const reason = new TswarmError('UNAVAILABLE', 'the leader changed while streaming logs. Run the command again');
    for (const r of this.running.values()) {
      r.endedBy = reason;
      r.wake.wake();
    }
    for (const l of this.listeners.values()) l.end.abort();
  }

  private async deliver(r: Running, nodeId: string, lines: LogLine[]): Promise<void> {
    r.sub.deliveryStarted(nodeId);
    try {
      await r.sink.write({ lines, warnings: [] });
    } finally {
      r.sub.deliveryEnded(nodeId, this.o.clock.nowMs());
    }
  }

  /**
   * Whether a message from the node is wanted: from a node still owing lines; following, also from
   * one named missing that is not down (taken back). Not following, a node named missing stays
   * so: the reader was told, and the call may have ended without it.
   */
  private heardFrom(r: Running, nodeId: string): boolean {
    const nowMs = this.o.clock.nowMs();
    if (r.sub.heard(nodeId, nowMs)) return true;
    const down = this.o.store.node(nodeId)?.status?.state === NodeState.NODE_STATE_DOWN;
    return !down && r.sub.revive(nodeId, nowMs);
  }

  private subscriptionFor(nodeId: string, subscriptionId: string): Running {
    if (subscriptionId === '') throw new TswarmError('INVALID_ARGUMENT', 'published logs must name their subscription');
    const r = this.running.get(subscriptionId);
    if (!r)
      throw new TswarmError(
        'NOT_FOUND',
        `log subscription ${subscriptionId} is over (its reader left). Stop publishing`,
      );
    if (!r.sub.stateOf(nodeId))
      throw new TswarmError('PERMISSION_DENIED', `log subscription ${subscriptionId} was not sent to node ${nodeId}`);
    return r;
  }

  /**
   * The lines a node may publish: its own (the node ID its certificate names), of tasks the store
   * places on it and the subscription selected. A task deleted meanwhile drops its lines; anything
   * else ends the stream (the node is wrong, or lies).
   */
  private authorizeLines(nodeId: string, sub: LogSubscription, lines: readonly LogLine[]): LogLine[] {
    if (lines.length > PUBLISH_LINES_PER_MESSAGE_MAX)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `a published message may carry ${PUBLISH_LINES_PER_MESSAGE_MAX} lines, not ${lines.length}`,
      );
    const tasks = new Map<string, Task | undefined>();
    const out: LogLine[] = [];
    for (const line of lines) {
      if (line.nodeId !== nodeId)
        throw new TswarmError('PERMISSION_DENIED', `node ${nodeId} published a line as node ${line.nodeId}`);
      if (line.stream !== 'stdout' && line.stream !== 'stderr')
        throw new TswarmError('INVALID_ARGUMENT', `a log line's stream is stdout or stderr, not "${line.stream}"`);
      if (!tasks.has(line.taskId)) tasks.set(line.taskId, this.o.store.task(line.taskId));
      const task = tasks.get(line.taskId);
      if (!task) continue;
      if (task.nodeId !== nodeId)
        throw new TswarmError('PERMISSION_DENIED', `task ${line.taskId} is not assigned to node ${nodeId}`);
      if (!selects(sub.selector, task))
        throw new TswarmError('PERMISSION_DENIED', `log subscription ${sub.id} did not select task ${line.taskId}`);
      // The store's word for the service, not the node's.
      out.push({ ...line, serviceId: task.serviceId });
    }
    return out;
  }

  /** Asks every node that holds a selected task (once each); a node that cannot be asked is missing at once. */
  private askNodes(r: Running): void {
    const { store, clock } = this.o;
    const { nodeIds } = selectNodes(
      r.sub.selector,
      (id) => store.tasksOfService(id),
      (id) => store.task(id),
      r.sub.follow,
    );
    const nowMs = clock.nowMs();
    for (const nodeId of nodeIds) {
      if (!r.sub.addNode(nodeId, nowMs)) continue;
      const unavailable = this.unavailable(nodeId);
      if (unavailable) r.sub.lose(nodeId, unavailable, nowMs);
      else this.send(nodeId, openMessage(r.sub));
    }
  }

  /** Why a node cannot be asked now, or undefined when it can. */
  private unavailable(nodeId: string): string | undefined {
    const node = this.o.store.node(nodeId);
    if (!node) return 'is no longer in the cluster';
    if (node.status?.state === NodeState.NODE_STATE_DOWN) return 'is down';
    if (!this.listeners.has(nodeId)) return 'has no session with the managers (it is down, restarting or cut off)';
    return undefined;
  }

  /** One look at a subscription's nodes: new ones (following), nodes gone down, nodes silent too long. */
  private sweep(r: Running): void {
    if (r.sub.follow) this.askNodes(r);
    const nowMs = this.o.clock.nowMs();
    for (const nodeId of r.sub.nodeIds()) {
      if (!r.sub.pending(nodeId)) continue;
      const node = this.o.store.node(nodeId);
      if (!node) r.sub.lose(nodeId, 'is no longer in the cluster', nowMs);
      else if (node.status?.state === NodeState.NODE_STATE_DOWN) r.sub.lose(nodeId, 'is down', nowMs);
    }
    const boundS = this.answerBoundMs / 1000;
    for (const nodeId of r.sub.silentNodes(nowMs, this.answerBoundMs))
      r.sub.lose(nodeId, `did not answer within ${boundS} s`, nowMs);
  }

  private send(nodeId: string, message: ListenSubscriptionsResponse): void {
    const l = this.listeners.get(nodeId);
    if (!l) return;
    if (l.queue.length >= LISTENER_QUEUE_MAX) {
      this.o.log.warn({ node: nodeId }, 'log listener too far behind; ending it');
      l.end.abort();
      return;
    }
    l.queue.push(message);
    l.wake.wake();
  }

  /** The node's session is gone: every subscription still owed its lines names it missing. */
  private loseEverywhere(nodeId: string, reason: string): void {
    const nowMs = this.o.clock.nowMs();
    for (const r of this.running.values()) {
      if (!r.sub.pending(nodeId)) continue;
      r.sub.lose(nodeId, reason, nowMs);
      r.wake.wake();
    }
  }

  private describe(nodeId: string, reason: string): LogNodeWarning {
    return { nodeId, hostname: this.o.store.node(nodeId)?.description?.hostname ?? '', reason };
  }
}

function openMessage(sub: LogSubscription): ListenSubscriptionsResponse {
  return { subscriptionId: sub.id, selector: sub.selector, options: sub.options, close: false };
}

function closeMessage(subscriptionId: string): ListenSubscriptionsResponse {
  return { subscriptionId, selector: undefined, options: undefined, close: true };
}

function checkSelector(selector: LogSelector | undefined): LogSelector {
  const ids = (selector?.serviceIds.length ?? 0) + (selector?.taskIds.length ?? 0);
  if (!selector || ids === 0)
    throw new TswarmError('INVALID_ARGUMENT', 'a log subscription names at least one service or task');
  if (ids > LOG_SELECTOR_IDS_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `a log subscription names at most ${LOG_SELECTOR_IDS_MAX} services and tasks, not ${ids}`,
    );
  return { serviceIds: [...new Set(selector.serviceIds)], taskIds: [...new Set(selector.taskIds)] };
}

function checkOptions(options: LogSubscriptionOptions | undefined): LogSubscriptionOptions {
  const o = options ?? { follow: false, sinceMs: 0, stdout: true, stderr: true };
  if (!o.stdout && !o.stderr) throw new TswarmError('INVALID_ARGUMENT', 'choose at least one stream: stdout or stderr');
  if (o.sinceMs < 0) throw new TswarmError('INVALID_ARGUMENT', `since must be a time, not ${o.sinceMs}`);
  return o;
}
