import { describe, expect, it } from 'vitest';
import { NodeState, TaskState, type Node } from '../../gen/tswarm/v1/objects.js';
import { node, task, type TaskOptions } from '../tasks/testing/objects.js';
import { historyToReap } from './task-reaper.js';

const SHUTDOWN = TaskState.TASK_STATE_SHUTDOWN;
const nodes = (...list: Node[]) => new Map(list.map((n) => [n.id, n]));
const live = nodes(node({ id: 'a' }), node({ id: 'b' }));

/** A slot's history: `n` stopped tasks (oldest first), then one running. */
function slotHistory(slot: number, stopped: number, o: Partial<TaskOptions> = {}) {
  const old = Array.from({ length: stopped }, (_, i) =>
    task({
      id: `s${slot}-${i}`,
      slot,
      nodeId: 'a',
      state: TaskState.TASK_STATE_FAILED,
      desired: SHUTDOWN,
      createdAtMs: i,
      ...o,
    }),
  );
  return [...old, task({ id: `s${slot}-run`, slot, nodeId: 'a', createdAtMs: 100 })];
}

describe('historyToReap', () => {
  it('keeps the limit per slot — the running task and the newest stopped ones — deleting the oldest', () => {
    const tasks = [...slotHistory(1, 7), ...slotHistory(2, 2)];
    expect(historyToReap(tasks, live, 5).sort()).toEqual(['s1-0', 's1-1', 's1-2']);
  });

  it('never deletes a task that may still hold a container on a live node', () => {
    // Told to stop, still RUNNING on a live node: the agent has not reported it stopped yet.
    const stopping = task({ id: 'stopping', slot: 1, nodeId: 'a', desired: SHUTDOWN, createdAtMs: 0 });
    const tasks = [stopping, ...slotHistory(1, 2).slice(0)];
    expect(historyToReap(tasks, live, 1)).toEqual(['s1-0', 's1-1']);
    // Its node is down: nothing runs it any more that the cluster can reach.
    const down = nodes(node({ id: 'a', state: NodeState.NODE_STATE_DOWN }));
    expect(historyToReap([stopping, task({ id: 'new', slot: 1, nodeId: 'b', createdAtMs: 5 })], down, 1)).toEqual([
      'stopping',
    ]);
  });

  it("keeps a slot's newest task even at limit 0, and everything at a negative limit", () => {
    const gaveUp = task({ id: 'last', slot: 1, nodeId: 'a', state: TaskState.TASK_STATE_FAILED, desired: SHUTDOWN });
    expect(historyToReap([gaveUp], live, 0)).toEqual([]);
    expect(historyToReap(slotHistory(1, 9), live, -1)).toEqual([]);
  });

  it("counts a global service's tasks per node, and leaves tasks at REMOVE to the loop", () => {
    const global = (id: string, nodeId: string, createdAtMs: number, desired = SHUTDOWN) =>
      task({ id, slot: 0, nodeId, state: TaskState.TASK_STATE_COMPLETE, desired, createdAtMs });
    const tasks = [
      global('a1', 'a', 1),
      global('a2', 'a', 2),
      global('b1', 'b', 1),
      global('gone', 'b', 0, TaskState.TASK_STATE_REMOVE),
    ];
    expect(historyToReap(tasks, live, 1)).toEqual(['a1']);
  });
});
