import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import type { Clock } from '../../lib/clock.js';
import type { DeepReadonly } from '../../lib/deep-readonly.js';
import type { BasicLogger } from '../../lib/logger.js';
import { WatchLoop } from '../leadership/watch-loop.js';
import { updateInBatches } from '../store/batched-update.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Tx } from '../store/store.js';
import type { Store } from '../store/store.js';
import type { ChangeEventView } from '../store/watch.js';
import { desiredToRun, observedState, statusAfter } from '../tasks/task-states.js';
import { placeTasks } from './scheduler.js';

/**
 * The scheduler's loop (leader only): when tasks wait for a node, or nodes change, it places the
 * waiting tasks with placeTasks over the whole cluster in one pass and writes the decisions in
 * bounded transactions — ASSIGNED with the node, or PENDING with the reason in `status.err`
 * (what `service ps` shows in its ERROR column). A task's reason is written only when it changed,
 * so a task that fits nowhere costs nothing until something changes.
 */

export type SchedulerWrite =
  { kind: 'assign'; taskId: string; nodeId: string } | { kind: 'pending'; taskId: string; reason: string };

/** Waiting for the scheduler: not yet ASSIGNED, still meant to run (or, a job's, to complete). */
export function waitsForAssignment(task: DeepReadonly<Task>): boolean {
  return desiredToRun(task) && observedState(task) <= TaskState.TASK_STATE_PENDING;
}

/** Waiting for a node: made for a slot, not placed, still meant to run, not ended. */
export function waitsForNode(task: DeepReadonly<Task>): boolean {
  return task.nodeId === '' && waitsForAssignment(task);
}

/** Made for a node (a global service's task), waiting for the scheduler to check it fits there. */
const waitsAtItsNode = (task: Task) => task.nodeId !== '' && waitsForAssignment(task);

/** The decisions to write now, from the replica as it is; oldest tasks first get the nodes. */
export function schedulerWrites(replica: MemoryStore): SchedulerWrite[] {
  const tasks = replica.list('task');
  const oldestFirst = (a: Task, b: Task) =>
    (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0) || a.slot - b.slot || a.id.localeCompare(b.id);
  const unassigned = tasks.filter(waitsForNode).sort(oldestFirst);
  const preassigned = tasks.filter(waitsAtItsNode).sort(oldestFirst);
  if (unassigned.length === 0 && preassigned.length === 0) return [];
  const byId = new Map([...unassigned, ...preassigned].map((t) => [t.id, t]));
  const decisions = placeTasks({
    nodes: replica.list('node'),
    // A preassigned task holds nothing on its node until it is assigned there.
    placed: tasks.filter((t) => t.nodeId !== '' && !waitsAtItsNode(t)),
    unassigned,
    preassigned,
  });
  const writes: SchedulerWrite[] = decisions.assignments.map((a) => ({ kind: 'assign', ...a }));
  for (const p of decisions.pending) {
    const t = byId.get(p.taskId)!;
    if (observedState(t) !== TaskState.TASK_STATE_PENDING || t.status?.err !== p.reason)
      writes.push({ kind: 'pending', taskId: p.taskId, reason: p.reason });
  }
  return writes;
}

export function writeDecision(tx: Tx, replica: MemoryStore, w: SchedulerWrite, nowMs: number): void {
  const task = replica.get('task', w.taskId);
  // Placed, stopped or removed since it was read: the decision no longer applies.
  if (!task || !waitsForAssignment(task)) return;
  if (task.nodeId !== '' && w.kind === 'assign' && w.nodeId !== task.nodeId) return;
  // tswarm has no allocator step yet: a NEW task enters PENDING here, so its history is whole.
  let status = statusAfter(task.status, {
    state: TaskState.TASK_STATE_PENDING,
    atMs: nowMs,
    message: 'pending task scheduling',
  });
  if (w.kind === 'pending') {
    tx.update('task', { ...task, status: { ...status, err: w.reason } });
    return;
  }
  if (!replica.get('node', w.nodeId)) return; // the node left meanwhile: placed again next round
  status = statusAfter(status, {
    state: TaskState.TASK_STATE_ASSIGNED,
    atMs: nowMs,
    message: 'scheduler assigned task to node',
  });
  tx.update('task', { ...task, nodeId: w.nodeId, status });
}

/** Task changes matter when a task waits for a node or stops holding one; node changes always. */
function matters(e: ChangeEventView): boolean {
  if (e.kind !== 'task') return true;
  const t = e.object as DeepReadonly<Task>;
  return e.action === 'remove' || waitsForAssignment(t) || !desiredToRun(t);
}

export function schedulerLoop(o: { store: Store; clock: Clock; log: BasicLogger }): WatchLoop {
  return new WatchLoop({
    name: 'scheduler',
    store: o.store,
    clock: o.clock,
    log: o.log,
    kinds: ['task', 'node'],
    filter: matters,
    round: async (signal) => {
      const nowMs = o.clock.nowMs();
      await updateInBatches(
        o.store,
        schedulerWrites(o.store.replica),
        (tx, r, w) => writeDecision(tx, r, w, nowMs),
        signal,
      );
    },
  });
}
