import { describe, expect, it } from 'vitest';
import { AssignmentsType } from '../../gen/tswarm/v1/dispatcher.js';
import { TaskState, TaskStatus, type Task } from '../../gen/tswarm/v1/objects.js';
import { testTask } from '../store/testing/test-store.js';
import type { ChangeEvent } from '../store/watch.js';
import { AssignmentSet, ASSIGNMENT_CHANGES_PER_MESSAGE_MAX } from './assignment-set.js';

const task = (id: string, fields: Partial<Task> = {}): Task => ({ ...testTask(id, 's1', 'w1'), ...fields });
const updated = (t: Task, version = 1): ChangeEvent => ({ action: 'update', kind: 'task', object: t, version });

describe('AssignmentSet', () => {
  it('sends the node’s tasks ASSIGNED or later as the complete set, numbered', () => {
    const set = new AssignmentSet('w1');
    const msg = set.complete([
      task('a'),
      task('b', { status: TaskStatus.fromPartial({ state: TaskState.TASK_STATE_PENDING }) }),
      task('c', { nodeId: 'w2' }),
      task('d', { desiredState: TaskState.TASK_STATE_SHUTDOWN }),
    ]);
    expect(msg.type).toBe(AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE);
    expect(msg.sequence).toBe(1);
    expect(msg.updatedTasks.map((t) => t.id)).toEqual(['a', 'd']);
    expect(set.complete([]).sequence).toBe(2);
  });

  it('sends a change of what to do, not a status the worker reported itself', () => {
    const set = new AssignmentSet('w1');
    set.complete([task('a')]);
    const running = task('a', {
      status: {
        timestampMs: 5,
        state: TaskState.TASK_STATE_RUNNING,
        message: '',
        err: '',
        containerStatus: undefined,
        history: [],
        portStatus: undefined,
      },
    });
    expect(set.changes([updated(running)])).toEqual([]);
    const stop = { ...running, desiredState: TaskState.TASK_STATE_SHUTDOWN };
    const [msg, ...rest] = set.changes([updated(stop)]);
    expect(rest).toEqual([]);
    expect(msg).toMatchObject({ type: AssignmentsType.ASSIGNMENTS_TYPE_INCREMENTAL, sequence: 2, removedTaskIds: [] });
    expect(msg!.updatedTasks.map((t) => t.desiredState)).toEqual([TaskState.TASK_STATE_SHUTDOWN]);
  });

  it('names removed tasks, and a task that moved to another node, once', () => {
    const set = new AssignmentSet('w1');
    set.complete([task('a'), task('b')]);
    const msgs = set.changes([
      { action: 'remove', kind: 'task', object: task('a'), version: 2 },
      updated(task('b', { nodeId: 'w2' })),
      { action: 'remove', kind: 'task', object: task('never-sent'), version: 3 },
    ]);
    expect(msgs.map((m) => m.removedTaskIds)).toEqual([['a', 'b']]);
    expect(set.changes([updated(task('b', { nodeId: 'w2' }))])).toEqual([]);
  });

  it('sends a task created and changed in one batch once, in its last form', () => {
    const set = new AssignmentSet('w1');
    set.complete([]);
    const [msg] = set.changes([
      { action: 'create', kind: 'task', object: task('a'), version: 2 },
      updated(task('a', { desiredState: TaskState.TASK_STATE_SHUTDOWN }), 3),
    ]);
    expect(msg!.updatedTasks).toHaveLength(1);
    expect(msg!.updatedTasks[0]!.desiredState).toBe(TaskState.TASK_STATE_SHUTDOWN);
  });

  it(`splits a large change into messages of at most ${ASSIGNMENT_CHANGES_PER_MESSAGE_MAX} tasks, in sequence`, () => {
    const set = new AssignmentSet('w1');
    set.complete([]);
    const n = ASSIGNMENT_CHANGES_PER_MESSAGE_MAX * 2 + 1;
    const msgs = set.changes(Array.from({ length: n }, (_, i) => updated(task(`t${i}`))));
    expect(msgs.map((m) => m.updatedTasks.length)).toEqual([
      ASSIGNMENT_CHANGES_PER_MESSAGE_MAX,
      ASSIGNMENT_CHANGES_PER_MESSAGE_MAX,
      1,
    ]);
    expect(msgs.map((m) => m.sequence)).toEqual([2, 3, 4]);
  });
});
