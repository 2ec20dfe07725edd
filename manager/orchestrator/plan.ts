import { NodeState, TaskState, type Node, type Service, type Task } from '../../gen/tswarm/v1/objects.js';
import type { EndCause } from './restart.js';

/**
 * What an orchestrator decides for one service: the tasks to create and the tasks to stop. A plan
 * is data; the orchestrator's loop writes it in one store transaction (applyPlan builds the
 * objects). The same shape serves every mode: a replicated service's new tasks name a slot and
 * leave the node to the scheduler, a global service's (next) name the node, with slot 0.
 */

export interface TaskToCreate {
  /** 1-based for replicated services; 0 for a global service's task. */
  slot: number;
  /** "" for the scheduler to choose; a global service's task is made for its node. */
  nodeId: string;
  /** The task this one replaces in its slot (told to shut down in the same plan), or "". */
  replaces: string;
  /** The replacement is a restart of its slot, counted against the policy's maximum attempts. */
  countsAsAttempt: boolean;
}

export type StopReason =
  /** Its node is down or gone: a replacement runs elsewhere. */
  | 'node-down'
  /** It ended and the restart policy replaces it. */
  | 'restarted'
  /** It ended and the restart policy does not replace it: its slot keeps it, stopped. */
  | 'ended'
  /** Its slot had another task meant to run; one is kept. */
  | 'duplicate'
  /** The service was scaled down and its slot is no more. */
  | 'scaled-down'
  | 'service-removed'
  /** Its node was drained: it moves elsewhere (a global service's task just stops). */
  | 'node-drained'
  /** Its node no longer matches the service's constraints (a label removed). */
  | 'constraints-unmet'
  /** Its node left the cluster (a global service's task). */
  | 'node-removed'
  /** Its job was updated, which runs it again: the earlier run's tasks stop. */
  | 'job-rerun';

export interface TaskStop {
  taskId: string;
  reason: StopReason;
}

export interface Plan {
  create: TaskToCreate[];
  /** Desired state SHUTDOWN: stopped, kept as the slot's history. */
  shutdown: TaskStop[];
  /** Desired state REMOVE: stopped, then deleted by the task reaper. */
  remove: TaskStop[];
  /**
   * The earliest time a delayed restart is due (ms since the epoch), if one waits: the plan made
   * then differs from this one even if nothing in the store changed, so the loop wakes up for it.
   */
  wakeAtMs: number | undefined;
}

export function emptyPlan(): Plan {
  return { create: [], shutdown: [], remove: [], wakeAtMs: undefined };
}

/** Keeps the earliest wake-up a plan needs. */
export function wakeAt(plan: Plan, atMs: number): void {
  plan.wakeAtMs = plan.wakeAtMs === undefined ? atMs : Math.min(plan.wakeAtMs, atMs);
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.create.length === 0 && plan.shutdown.length === 0 && plan.remove.length === 0;
}

/** What an orchestrator reads to plan one service. */
export interface ServiceState {
  service: Service;
  /** Every task of the service in the store, in any state. */
  tasks: readonly Task[];
  /** The cluster's nodes by ID: whether a task's node is alive (global mode: where tasks go). */
  nodes: ReadonlyMap<string, Node>;
  /** The time now: a delayed restart is planned once it is due. */
  nowMs: number;
}

/**
 * A task on this node will not run again: the node is DOWN, or gone from the cluster. A node that
 * has not reported since a leader change (UNKNOWN) is not dead: the dispatcher decides DOWN.
 */
export function nodeIsDead(nodeId: string, nodes: ReadonlyMap<string, Node>): boolean {
  if (nodeId === '') return false;
  const node = nodes.get(nodeId);
  return node === undefined || node.status?.state === NodeState.NODE_STATE_DOWN;
}

/**
 * A removed service's tasks all go to REMOVE: the agents stop them and the task reaper deletes
 * them. Tasks already at REMOVE are left alone, so planning twice plans nothing.
 */
export function planRemoved(tasks: readonly Task[]): Plan {
  const plan = emptyPlan();
  for (const task of tasks)
    if (task.desiredState < TaskState.TASK_STATE_REMOVE)
      plan.remove.push({ taskId: task.id, reason: 'service-removed' });
  return plan;
}

/** A job's tasks run to completion (desired COMPLETE) and one that completes is not run again. */
export function isJob(service: Service): boolean {
  return service.spec?.replicatedJob !== undefined || service.spec?.globalJob !== undefined;
}

/** The task finished its work: a job's slot (or node) that needs nothing more. */
export function completed(end: EndCause | undefined): boolean {
  return end?.kind === 'ended' && end.state === TaskState.TASK_STATE_COMPLETE;
}

/**
 * A job's tasks of its current run, and those of earlier runs (an update of a job runs it again,
 * as in SwarmKit): the planners count only the current run; earlier runs' tasks still meant to
 * run are stopped.
 */
export function jobRuns(service: Service, tasks: readonly Task[]): { current: Task[]; stale: Task[] } {
  const run = service.specVersion ?? 0;
  const current: Task[] = [];
  const stale: Task[] = [];
  for (const t of tasks) (t.jobIteration === undefined || t.jobIteration === run ? current : stale).push(t);
  return { current, stale };
}

/** Stops an earlier run's tasks that are still meant to run. */
export function stopStaleRuns(stale: readonly Task[], plan: Plan): void {
  for (const t of stale)
    if (t.desiredState <= TaskState.TASK_STATE_COMPLETE && !isTerminalState(t))
      plan.shutdown.push({ taskId: t.id, reason: 'job-rerun' });
}

const isTerminalState = (t: Task) => (t.status?.state ?? TaskState.TASK_STATE_NEW) >= TaskState.TASK_STATE_COMPLETE;
