import { TaskState, type Node, type Service, type Task } from '../../gen/tswarm/v1/objects.js';
import type { Clock } from '../../lib/clock.js';
import type { DeepReadonly } from '../../lib/deep-readonly.js';
import { newId } from '../../lib/ids.js';
import type { BasicLogger } from '../../lib/logger.js';
import { WatchLoop } from '../leadership/watch-loop.js';
import { updateInBatches } from '../store/batched-update.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Store, Tx } from '../store/store.js';
import type { ChangeEventView } from '../store/watch.js';
import { isTerminal, observedState } from '../tasks/task-states.js';
import { applyPlan } from './apply.js';
import { isEmptyPlan, nodeIsDead, planRemoved, type Plan, type ServiceState } from './plan.js';
import { planGlobal } from './global.js';
import { planReplicatedJob } from './jobs.js';
import { planReplicated } from './replicated.js';
import { historyToReap } from './task-reaper.js';

/** The planner of the service's mode; every mode has one. */
function plannerOf(service: Service): ((state: ServiceState) => Plan) | undefined {
  const spec = service.spec;
  if (spec?.replicated) return planReplicated;
  if (spec?.global || spec?.globalJob) return planGlobal;
  if (spec?.replicatedJob) return planReplicatedJob;
  return undefined;
}

/** Docker's `--task-history-limit` when the cluster names none. */
const TASK_HISTORY_LIMIT_DEFAULT = 5;

/**
 * The orchestrators' loop (leader only): on every change of services, tasks, nodes or the cluster it plans
 * each replicated service (planReplicated) and each global one (planGlobal), sends the tasks of removed services to
 * REMOVE (planRemoved), deletes the REMOVE tasks that hold nothing any more and the stopped
 * tasks beyond each slot's history limit (the task reaper, task-reaper.ts), and writes all of it
 * in bounded transactions.
 */

/** One write the orchestrator decided; applied to the task as it is when proposed. */
export type TaskWrite =
  | { kind: 'create'; task: Task }
  | { kind: 'desired'; taskId: string; state: TaskState }
  | { kind: 'delete'; taskId: string };

export interface OrchestratorOptions {
  store: Store;
  clock: Clock;
  log: BasicLogger;
  newId?: () => string;
}

/**
 * A task at desired REMOVE can go from the store once nothing runs it: it ended, it never reached
 * a node, or its node is down or gone (a node that returns is told to stop what it no longer has).
 */
function reapable(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  if (task.desiredState !== TaskState.TASK_STATE_REMOVE) return false;
  const state = observedState(task);
  if (isTerminal(state) || state < TaskState.TASK_STATE_ASSIGNED || task.nodeId === '') return true;
  return nodeIsDead(task.nodeId, nodes);
}

export interface OrchestratorRound {
  writes: TaskWrite[];
  /** When a delayed restart falls due, if one waits: the loop plans again then. */
  wakeAtMs: number | undefined;
}

/** Everything the orchestrator would write now, from the replica as it is. Pure over the replica. */
export function orchestratorWrites(replica: MemoryStore, nowMs: number, makeId: () => string): OrchestratorRound {
  const writes: TaskWrite[] = [];
  let wakeAtMs: number | undefined;
  const nodes = new Map(replica.list('node').map((n) => [n.id, n]));
  const services = replica.list('service');
  const live = new Set(services.map((s) => s.id));
  const historyLimit =
    replica.list('cluster')[0]?.spec?.orchestration?.taskHistoryRetentionLimit ?? TASK_HISTORY_LIMIT_DEFAULT;
  for (const service of services) {
    const planner = plannerOf(service);
    if (!planner) continue;
    const tasks = replica.tasksOfService(service.id);
    for (const taskId of historyToReap(tasks, nodes, historyLimit)) writes.push({ kind: 'delete', taskId });
    const plan = planner({ service, tasks, nodes, nowMs });
    if (plan.wakeAtMs !== undefined) wakeAtMs = Math.min(wakeAtMs ?? Infinity, plan.wakeAtMs);
    if (isEmptyPlan(plan)) continue;
    const applied = applyPlan(service, tasks, plan, { nowMs, newId: makeId });
    for (const t of applied.updated) writes.push({ kind: 'desired', taskId: t.id, state: t.desiredState });
    for (const t of applied.created) writes.push({ kind: 'create', task: t });
  }
  const orphans = replica.list('task', (t) => !live.has(t.serviceId));
  for (const stop of planRemoved(orphans).remove)
    writes.push({ kind: 'desired', taskId: stop.taskId, state: TaskState.TASK_STATE_REMOVE });
  for (const t of replica.list('task', (t) => reapable(t, nodes))) writes.push({ kind: 'delete', taskId: t.id });
  return { writes, wakeAtMs };
}

export function writeTask(tx: Tx, replica: MemoryStore, w: TaskWrite): void {
  if (w.kind === 'create') {
    if (!replica.get('task', w.task.id)) tx.create('task', w.task);
    return;
  }
  const current = replica.get('task', w.taskId);
  if (!current) return;
  if (w.kind === 'delete') tx.remove('task', current);
  // Desired states only move forwards: a later plan never revives a task.
  else if (current.desiredState < w.state) tx.update('task', { ...current, desiredState: w.state });
}

/**
 * The changes that can change what the orchestrator writes: every change of a service, a node or
 * the cluster, a task made or deleted, and a task's update — except a report of progress from a
 * task meant to run on its way to RUNNING (ASSIGNED, PREPARING, STARTING…). Those are most of the
 * store's writes while a service starts (one per state, per task), and none changes a plan: a slot
 * is refilled when its task ends or its node dies, never as it starts; a scale-down is planned in
 * the round that reads the new spec; the reaper waits for tasks whose desired state is past
 * RUNNING, which pass. Each of them used to wake a round over every service and task. Reaching
 * RUNNING does matter, as does a reason it cannot be placed: a task leaving a drained node is
 * stopped once its replacement runs, or fits nowhere.
 */
export function orchestratorMatters(e: ChangeEventView): boolean {
  if (e.kind !== 'task' || e.action !== 'update') return true;
  const task = e.object as DeepReadonly<Task>;
  const state = observedState(task);
  return (
    task.desiredState !== TaskState.TASK_STATE_RUNNING ||
    isTerminal(state) ||
    state === TaskState.TASK_STATE_RUNNING ||
    (task.status?.err ?? '') !== ''
  );
}

export function replicatedOrchestrator(o: OrchestratorOptions): WatchLoop {
  const makeId = o.newId ?? (() => newId());
  return new WatchLoop({
    name: 'orchestrator',
    store: o.store,
    clock: o.clock,
    log: o.log,
    // The cluster object holds the history limit: lowering it (`swarm update --task-history-limit`)
    // must reap at once, not at the next task change.
    kinds: ['service', 'task', 'node', 'cluster'],
    filter: orchestratorMatters,
    round: async (signal) => {
      const { writes, wakeAtMs } = orchestratorWrites(o.store.replica, o.clock.nowMs(), makeId);
      await updateInBatches(o.store, writes, writeTask, signal);
      return { wakeAtMs };
    },
  });
}
