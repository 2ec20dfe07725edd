import { describe, expect, it } from 'vitest';
import { TaskState } from '../../gen/tswarm/v1/objects.js';
import { task } from './testing/objects.js';
import { countsForSpread, holdsResources, isTerminal, statusAfter } from './task-states.js';

describe('task states', () => {
  it('records each state entered with its time; a repeated state only updates message and error', () => {
    const created = statusAfter(undefined, { state: TaskState.TASK_STATE_NEW, atMs: 10, message: 'created' });
    const pending = statusAfter(created, { state: TaskState.TASK_STATE_PENDING, atMs: 20, err: 'no suitable node' });
    const again = statusAfter(pending, { state: TaskState.TASK_STATE_PENDING, atMs: 30, err: 'no suitable node (x)' });
    expect(again).toMatchObject({ state: TaskState.TASK_STATE_PENDING, timestampMs: 20, err: 'no suitable node (x)' });
    expect(again.history).toEqual([
      { state: TaskState.TASK_STATE_NEW, atMs: 10 },
      { state: TaskState.TASK_STATE_PENDING, atMs: 20 },
    ]);
    expect(pending.history).toHaveLength(2);
  });

  it('never moves an observed state backwards', () => {
    const running = statusAfter(undefined, { state: TaskState.TASK_STATE_RUNNING, atMs: 1 });
    expect(() => statusAfter(running, { state: TaskState.TASK_STATE_ASSIGNED, atMs: 2 })).toThrow(
      'never moves backwards',
    );
  });

  it('knows which tasks hold a node and which count for spreading', () => {
    expect(isTerminal(TaskState.TASK_STATE_ORPHANED)).toBe(true);
    expect(isTerminal(TaskState.TASK_STATE_RUNNING)).toBe(false);
    const stopping = task({ id: 's', nodeId: 'a', desired: TaskState.TASK_STATE_SHUTDOWN });
    expect([holdsResources(stopping), countsForSpread(stopping)]).toEqual([true, false]);
    const failed = task({ id: 'f', nodeId: 'a', state: TaskState.TASK_STATE_FAILED });
    expect(holdsResources(failed)).toBe(false);
    expect(holdsResources(task({ id: 'p' }))).toBe(false);
  });
});
