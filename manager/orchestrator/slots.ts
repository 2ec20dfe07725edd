import { TaskState, type Node, type Task } from '../../gen/tswarm/v1/objects.js';
import { desiredToRun, isTerminal, observedState } from '../tasks/task-states.js';
import { unfitReason, type Unfit } from './eligibility.js';
import { nodeIsDead } from './plan.js';
import { restartDecision, type EndCause } from './restart.js';

/**
 * A replicated service's slot as the planner sees it (SwarmKit's Slot): the tasks made for slot
 * number N, of which at most one is meant to run (its occupant), the others being its history.
 * Tasks at REMOVE belong to no slot any more: their slot was scaled away or their service removed.
 */
export interface SlotView {
  slot: number;
  /** The slot's tasks not at REMOVE, oldest first. */
  tasks: Task[];
  /** The task meant to run in the slot, if any. */
  occupant: Task | undefined;
  /** Other tasks meant to run in the slot: never more than one may be, so these are stopped. */
  duplicates: Task[];
  /**
   * Why the occupant must leave its node while it still runs there (drained, constraints no
   * longer met): it is replaced first, and stopped once its replacement runs.
   */
  unfit: Unfit | undefined;
  /**
   * A task on a node it must leave that waits, still running, for the occupant (its replacement)
   * to run: the one time a slot has two tasks meant to run.
   */
  leaving: { task: Task; reason: Unfit } | undefined;
  /** Why the occupant, or with none the latest task, no longer runs; undefined while it does. */
  end: EndCause | undefined;
  /**
   * The slot counts towards the replicas: it has an occupant, or its latest task stopped and the
   * restart policy does not replace it (SwarmKit's UpdatableTasksInSlot). A slot that is not live
   * is free: scaling up reuses its number.
   */
  live: boolean;
}

const newestFirst = (a: Task, b: Task) =>
  (b.meta?.createdAtMs ?? 0) - (a.meta?.createdAtMs ?? 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** Why the task no longer runs, or undefined when it still does (or is on its way to). */
export function endCauseOf(task: Task, nodes: ReadonlyMap<string, Node>): EndCause | undefined {
  const state = observedState(task);
  if (isTerminal(state)) return { kind: 'ended', state };
  if (nodeIsDead(task.nodeId, nodes)) return { kind: 'node-down' };
  if (!desiredToRun(task)) return { kind: 'stopped' };
  return undefined;
}

/**
 * Of several tasks meant to run in one slot, the one to keep: one that still runs (on a live
 * node), then the furthest along (RUNNING over STARTING over …), then the newest.
 */
function bestOccupant(candidates: readonly Task[], nodes: ReadonlyMap<string, Node>): Task {
  const score = (t: Task) => (endCauseOf(t, nodes) ? -1 : observedState(t));
  return [...candidates].sort((a, b) => score(b) - score(a) || newestFirst(a, b))[0]!;
}

/** Why a task that still runs (or is on its way to) must leave its node; undefined otherwise. */
function unfitOf(task: Task, nodes: ReadonlyMap<string, Node>): Unfit | undefined {
  if (endCauseOf(task, nodes) || task.nodeId === '') return undefined;
  return unfitReason(task.spec, nodes.get(task.nodeId));
}

/** The view of one slot's tasks (or, for a global service, of one node's: slot 0). */
export function viewOf(slot: number, tasks: Task[], nodes: ReadonlyMap<string, Node>): SlotView {
  const meantToRun = tasks.filter(desiredToRun);
  const staying = meantToRun.filter((t) => !unfitOf(t, nodes));
  const unfitTasks = meantToRun.filter((t) => unfitOf(t, nodes));
  const mustLeave = unfitTasks.length > 0 ? bestOccupant(unfitTasks, nodes) : undefined;
  const occupant = staying.length > 0 ? bestOccupant(staying, nodes) : mustLeave;
  const leaving =
    mustLeave && occupant !== mustLeave ? { task: mustLeave, reason: unfitOf(mustLeave, nodes)! } : undefined;
  const duplicates = meantToRun.filter((t) => t !== occupant && t !== leaving?.task);
  const latest = occupant ?? [...tasks].sort(newestFirst)[0]!;
  const end = endCauseOf(latest, nodes);
  const live = occupant !== undefined || (end !== undefined && !restartDecision(latest, end).replace);
  const unfit = occupant ? unfitOf(occupant, nodes) : undefined;
  return { slot, tasks, occupant, duplicates, unfit, leaving, end, live };
}

/** The service's slots by number; tasks without a slot (0: a global service's) are left out. */
export function slotViews(tasks: readonly Task[], nodes: ReadonlyMap<string, Node>): SlotView[] {
  const bySlot = new Map<number, Task[]>();
  for (const task of tasks) {
    if (task.slot === 0 || task.desiredState >= TaskState.TASK_STATE_REMOVE) continue;
    const list = bySlot.get(task.slot);
    if (list) list.push(task);
    else bySlot.set(task.slot, [task]);
  }
  return [...bySlot.entries()].sort(([a], [b]) => a - b).map(([slot, list]) => viewOf(slot, list, nodes));
}
