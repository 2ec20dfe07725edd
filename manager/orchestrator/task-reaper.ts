import { TaskState, type Node, type Task } from '../../gen/tswarm/v1/objects.js';
import { isTerminal, observedState } from '../tasks/task-states.js';
import { nodeIsDead } from './plan.js';

/**
 * The task reaper's history rule (SwarmKit's taskreaper), pure: each slot of a replicated service
 * (each node, for a global service's tasks) keeps at most `limit` tasks — the one meant to run and
 * the latest stopped ones, which `service ps` shows as the slot's history. Older stopped tasks are
 * deleted from the store. `--task-history-limit` (the cluster's `task_history_retention_limit`,
 * default 5) sets the limit; a negative limit keeps every task, as in SwarmKit.
 */

/** Deleting a task that still holds something on a live node would lose track of a container. */
function deletable(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  if (task.desiredState < TaskState.TASK_STATE_SHUTDOWN) return false;
  const state = observedState(task);
  return isTerminal(state) || state < TaskState.TASK_STATE_ASSIGNED || nodeIsDead(task.nodeId, nodes);
}

const oldestFirst = (a: Task, b: Task) =>
  (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A slot's key: its number for a replicated task, its node for a global one (slot 0). */
const historyKey = (t: Task) => (t.slot > 0 ? `slot:${t.slot}` : `node:${t.nodeId}`);

/**
 * The IDs of the service's tasks to delete so each slot keeps at most `limit` tasks. A slot keeps
 * its newest task even with a limit of 0: a slot whose task stopped for good (restart condition
 * none) stays taken only while that task is there, and deleting it would start a new one.
 */
export function historyToReap(tasks: readonly Task[], nodes: ReadonlyMap<string, Node>, limit: number): string[] {
  if (limit < 0) return [];
  const kept = Math.max(1, limit);
  const bySlot = new Map<string, Task[]>();
  for (const t of tasks) {
    // Tasks at REMOVE belong to no slot; the loop deletes them once they hold nothing.
    if (t.desiredState >= TaskState.TASK_STATE_REMOVE) continue;
    const key = historyKey(t);
    const list = bySlot.get(key);
    if (list) list.push(t);
    else bySlot.set(key, [t]);
  }
  const reaped: string[] = [];
  for (const slot of bySlot.values()) {
    let surplus = slot.length - kept;
    if (surplus <= 0) continue;
    for (const t of slot.sort(oldestFirst)) {
      if (surplus <= 0) break;
      if (!deletable(t, nodes)) continue;
      reaped.push(t.id);
      surplus--;
    }
  }
  return reaped;
}
