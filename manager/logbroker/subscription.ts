import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import type { LogSelector, LogSubscriptionOptions } from '../../gen/tswarm/v1/logbroker.js';

/**
 * How long a node may stay silent on a subscription before it counts as not answering (moby#38640:
 * `docker service logs` hung for ever on a node that was gone). Silent means: no first answer since
 * the subscription reached it, or — when not following — no message since its last one. A node
 * whose lines wait for a slow reader is not silent: the wait is the reader's, not the node's.
 */
export const LOG_ANSWER_BOUND_MS = 5_000;

/**
 * Where a node stands on one subscription:
 * - `waiting`: told (or about to be), no word from it since `sinceMs`;
 * - `answering`: it publishes; `lastMs` its last message, `delivering` how many of its messages
 *   are on their way to the reader right now;
 * - `done`: it sent everything (a subscription that does not follow);
 * - `lost`: its lines are missing (down, no session, disconnected, silent), `reported` once a
 *   warning went out for it.
 */
export type NodeLogState =
  | { kind: 'waiting'; sinceMs: number }
  | { kind: 'answering'; lastMs: number; delivering: number }
  | { kind: 'done' }
  | { kind: 'lost'; reason: string; atMs: number; reported: boolean };

export interface NodeSelection {
  /** The nodes that hold a selected task: each is asked for its lines. */
  nodeIds: Set<string>;
}

/**
 * The nodes to hear from for a selector (SwarmKit's subscription.match): the node of every
 * selected task. When not following, a service's tasks that never ran are left out — they have
 * no output, and their node need not be waited for; a task asked for by ID counts in any state.
 */
export function selectNodes(
  selector: LogSelector,
  tasksOfService: (serviceId: string) => readonly Task[],
  task: (taskId: string) => Task | undefined,
  follow: boolean,
): NodeSelection {
  const nodeIds = new Set<string>();
  const add = (t: Task) => {
    if (t.nodeId !== '') nodeIds.add(t.nodeId);
  };
  for (const id of selector.taskIds) {
    const t = task(id);
    if (t) add(t);
  }
  for (const id of selector.serviceIds)
    for (const t of tasksOfService(id))
      if (follow || (t.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED) >= TaskState.TASK_STATE_RUNNING) add(t);
  return { nodeIds };
}

/** Whether a task is one the selector asks for (a node may publish only those). */
export function selects(selector: LogSelector, task: Pick<Task, 'id' | 'serviceId'>): boolean {
  return selector.taskIds.includes(task.id) || selector.serviceIds.includes(task.serviceId);
}

export interface NodeWarning {
  nodeId: string;
  reason: string;
}

/**
 * One reader's subscription, as the broker tracks it: which nodes were asked, and how far each
 * has answered. Pure: time comes in as arguments, so every rule is tested without a clock.
 */
export class LogSubscription {
  private readonly nodes = new Map<string, NodeLogState>();

  constructor(
    readonly id: string,
    readonly selector: LogSelector,
    readonly options: LogSubscriptionOptions,
  ) {}

  get follow(): boolean {
    return this.options.follow;
  }

  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  stateOf(nodeId: string): NodeLogState | undefined {
    return this.nodes.get(nodeId);
  }

  /** A node to hear from; false when it was asked already. */
  addNode(nodeId: string, nowMs: number): boolean {
    if (this.nodes.has(nodeId)) return false;
    this.nodes.set(nodeId, { kind: 'waiting', sinceMs: nowMs });
    return true;
  }

  /** Whether the node still owes lines: asked and neither finished nor lost. */
  pending(nodeId: string): boolean {
    const s = this.nodes.get(nodeId);
    return s?.kind === 'waiting' || s?.kind === 'answering';
  }

  /** A message came from the node; false when the node is not one still owing lines here. */
  heard(nodeId: string, nowMs: number): boolean {
    const s = this.nodes.get(nodeId);
    if (s?.kind === 'waiting') this.nodes.set(nodeId, { kind: 'answering', lastMs: nowMs, delivering: 0 });
    else if (s?.kind === 'answering') s.lastMs = nowMs;
    else return false;
    return true;
  }

  /** One of the node's messages goes to the reader; its silence is not counted meanwhile. */
  deliveryStarted(nodeId: string): void {
    const s = this.nodes.get(nodeId);
    if (s?.kind === 'answering') s.delivering++;
  }

  /** The reader took it: the node's silence counts again from now. */
  deliveryEnded(nodeId: string, nowMs: number): void {
    const s = this.nodes.get(nodeId);
    if (s?.kind !== 'answering') return;
    s.delivering = Math.max(0, s.delivering - 1);
    s.lastMs = nowMs;
  }

  /** The node sent everything it has. */
  finished(nodeId: string): void {
    if (this.pending(nodeId)) this.nodes.set(nodeId, { kind: 'done' });
  }

  /** The node's lines are missing from here on; a node already finished or lost stays as it is. */
  lose(nodeId: string, reason: string, nowMs: number): void {
    if (this.pending(nodeId)) this.nodes.set(nodeId, { kind: 'lost', reason, atMs: nowMs, reported: false });
  }

  /**
   * The nodes silent past `boundMs`: not yet answering since they were asked, or — when not
   * following, where a node that has sent its lines closes — answering but quiet since their last
   * message with none waiting for the reader. A followed node may be quiet for ever: its task
   * writes nothing; its loss shows as a lost session or a DOWN node instead.
   */
  silentNodes(nowMs: number, boundMs: number): string[] {
    const out: string[] = [];
    for (const [nodeId, s] of this.nodes) {
      if (s.kind === 'waiting' && nowMs - s.sinceMs >= boundMs) out.push(nodeId);
      else if (s.kind === 'answering' && !this.follow && s.delivering === 0 && nowMs - s.lastMs >= boundMs)
        out.push(nodeId);
    }
    return out;
  }

  /** A subscription that does not follow is complete once every node finished or was lost. */
  complete(): boolean {
    if (this.follow) return false;
    for (const s of this.nodes.values()) if (s.kind === 'waiting' || s.kind === 'answering') return false;
    return true;
  }

  /** Losses not yet reported to the reader, each handed out once. */
  takeWarnings(): NodeWarning[] {
    const out: NodeWarning[] = [];
    for (const [nodeId, s] of this.nodes)
      if (s.kind === 'lost' && !s.reported) {
        s.reported = true;
        out.push({ nodeId, reason: s.reason });
      }
    return out;
  }

  /**
   * Following, a node named missing that publishes again on this subscription (it was only slow
   * to answer, or its link came back before its session ended) is taken back: its lines go on.
   * False when not following or the node was not lost.
   */
  revive(nodeId: string, nowMs: number): boolean {
    if (!this.follow || this.nodes.get(nodeId)?.kind !== 'lost') return false;
    this.nodes.set(nodeId, { kind: 'answering', lastMs: nowMs, delivering: 0 });
    return true;
  }

  /**
   * A followed node that was lost and has a session again: asked anew for the lines written since
   * it was lost (the whole log of each task from then, not the tail again), so a node back from a
   * partition or a restart resumes where the reader lost it. Undefined when there is nothing to resume.
   */
  resume(nodeId: string, nowMs: number): LogSubscriptionOptions | undefined {
    const s = this.nodes.get(nodeId);
    if (!this.follow || s?.kind !== 'lost') return undefined;
    this.nodes.set(nodeId, { kind: 'waiting', sinceMs: nowMs });
    const { tail: _tail, ...rest } = this.options;
    return { ...rest, sinceMs: Math.max(this.options.sinceMs, s.atMs) };
  }
}
