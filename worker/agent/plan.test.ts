import { describe, expect, it } from 'vitest';
import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import { testTask } from '../../manager/store/testing/test-store.js';
import { planTasks, type PlanInput } from './plan.js';
import { STOP_GRACE_PERIOD_DEFAULT_MS, type TaskContainer } from './task-container.js';

const task = (id: string, fields: Partial<Task> = {}): Task => ({ ...testTask(id, 's1', 'w1'), ...fields });
const container = (taskId: string, status: string, fields: Partial<TaskContainer> = {}): TaskContainer => ({
  id: `c-${taskId}`,
  taskId,
  status,
  exitCode: 0,
  createdAtMs: 1,
  ...fields,
});

function plan(p: Partial<PlanInput> & { states?: Record<string, TaskState> }) {
  return planTasks({
    tasks: p.tasks ?? [],
    stateOf: (id) => p.states?.[id] ?? TaskState.TASK_STATE_ASSIGNED,
    containers: p.containers ?? [],
    completeSetKnown: p.completeSetKnown ?? true,
    busy: p.busy ?? new Set(),
  });
}
const kinds = (actions: ReturnType<typeof plan>) =>
  actions.map((a) =>
    a.kind === 'report' ? `report ${TaskState[a.state].replace('TASK_STATE_', '')}` : `${a.kind} ${a.taskId}`,
  );

describe('planTasks', () => {
  it('prepares and starts an assigned task without a container, and nothing while an operation is under way', () => {
    expect(kinds(plan({ tasks: [task('a')] }))).toEqual(['prepare-and-start a']);
    expect(plan({ tasks: [task('a')], busy: new Set(['a']) })).toEqual([]);
    // A restart cut the pull short: prepare again.
    expect(kinds(plan({ tasks: [task('a')], states: { a: TaskState.TASK_STATE_PREPARING } }))).toEqual([
      'prepare-and-start a',
    ]);
  });

  it('starts a container that was created but never started, and reports one found running', () => {
    const states = { a: TaskState.TASK_STATE_READY };
    expect(kinds(plan({ tasks: [task('a')], states, containers: [container('a', 'created')] }))).toEqual(['start a']);
    const running = plan({ tasks: [task('a')], states, containers: [container('a', 'running')] });
    expect(running).toEqual([
      {
        kind: 'report',
        taskId: 'a',
        state: TaskState.TASK_STATE_RUNNING,
        message: 'started',
        err: '',
        containerId: 'c-a',
        exitCode: 0,
      },
    ]);
    expect(
      plan({
        tasks: [task('a')],
        states: { a: TaskState.TASK_STATE_RUNNING },
        containers: [container('a', 'running')],
      }),
    ).toEqual([]);
  });

  it('reports an exit as Docker does: 0 completes, anything else fails with the code', () => {
    const states = { a: TaskState.TASK_STATE_RUNNING, b: TaskState.TASK_STATE_RUNNING };
    const actions = plan({
      tasks: [task('a'), task('b')],
      states,
      containers: [container('a', 'exited'), container('b', 'exited', { exitCode: 3 })],
    });
    expect(actions).toMatchObject([
      { kind: 'report', taskId: 'a', state: TaskState.TASK_STATE_COMPLETE, err: '' },
      { kind: 'report', taskId: 'b', state: TaskState.TASK_STATE_FAILED, err: 'task: non-zero exit (3)', exitCode: 3 },
    ]);
  });

  it('never starts a task that ended again, and fails one whose container vanished after it started', () => {
    expect(plan({ tasks: [task('a')], states: { a: TaskState.TASK_STATE_FAILED } })).toEqual([]);
    expect(plan({ tasks: [task('a')], states: { a: TaskState.TASK_STATE_RUNNING } })).toMatchObject([
      { kind: 'report', state: TaskState.TASK_STATE_FAILED, err: expect.stringMatching(/container is gone/) },
    ]);
  });

  it('stops a task whose desired state moved past RUNNING with its grace period, then reports it shut down', () => {
    const stopping = task('a', {
      desiredState: TaskState.TASK_STATE_SHUTDOWN,
      spec: { container: { stopGracePeriodMs: 2_500 } } as Task['spec'],
    });
    const states = { a: TaskState.TASK_STATE_RUNNING };
    expect(plan({ tasks: [stopping], states, containers: [container('a', 'running')] })).toEqual([
      { kind: 'stop', taskId: 'a', containerId: 'c-a', gracePeriodMs: 2_500 },
    ]);
    expect(
      kinds(plan({ tasks: [stopping], states, containers: [container('a', 'exited', { exitCode: 143 })] })),
    ).toEqual(['report SHUTDOWN']);
    expect(kinds(plan({ tasks: [stopping] }))).toEqual(['report SHUTDOWN']); // never started
  });

  it('removes containers of tasks no longer assigned, but only once a complete set is known', () => {
    const containers = [container('gone', 'running'), container('a', 'running')];
    const states = { a: TaskState.TASK_STATE_RUNNING };
    expect(plan({ tasks: [task('a')], states, containers, completeSetKnown: false })).toEqual([]);
    expect(plan({ tasks: [task('a')], states, containers })).toEqual([
      { kind: 'remove', taskId: 'gone', containerId: 'c-gone', gracePeriodMs: STOP_GRACE_PERIOD_DEFAULT_MS },
    ]);
  });

  it('keeps the newest container of a task and removes older ones', () => {
    const containers = [
      container('a', 'exited', { id: 'old', createdAtMs: 1 }),
      container('a', 'running', { id: 'new', createdAtMs: 2 }),
    ];
    expect(kinds(plan({ tasks: [task('a')], states: { a: TaskState.TASK_STATE_RUNNING }, containers }))).toEqual([
      'remove a',
    ]);
  });
});
