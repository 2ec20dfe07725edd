import type { DeepReadonly } from '../../lib/deep-readonly.js';
import { TaskState, type Task, type TaskStatus } from '../../gen/tswarm/v1/objects.js';
import { assert } from '../../lib/assert.js';

/**
 * What every manager component agrees on about a task's states (docs/architecture.md, Task
 * lifecycle). Observed states only move forwards; a retry is a new task. Desired states are
 * RUNNING (or COMPLETE for jobs), then SHUTDOWN, then REMOVE, and also only move forwards.
 */

/** Observed end states: the task runs no more and holds nothing on its node. */
const TERMINAL: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETE,
  TaskState.TASK_STATE_SHUTDOWN,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_ORPHANED,
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

export function observedState(task: DeepReadonly<Task>): TaskState {
  return task.status?.state ?? TaskState.TASK_STATE_NEW;
}

/**
 * The task is meant to be running: it occupies its slot (or its node, for a global service).
 * COMPLETE counts too, as SwarmKit's `DesiredState <= Completed`: a job's task is meant to run to
 * its end and still occupies its slot.
 */
export function desiredToRun(task: DeepReadonly<Task>): boolean {
  return task.desiredState <= TaskState.TASK_STATE_COMPLETE;
}

/**
 * The task holds its node's resources: it is on a node and has not ended. A task told to shut
 * down still holds them until the worker reports it stopped, so a replacement is never placed on
 * memory that is still in use.
 */
export function holdsResources(task: Task): boolean {
  return task.nodeId !== '' && !isTerminal(observedState(task));
}

/**
 * The task counts towards its service's spread on its node (SwarmKit's ActiveTasksCountByService):
 * it holds resources there and is still meant to run.
 */
export function countsForSpread(task: Task): boolean {
  return holdsResources(task) && desiredToRun(task);
}

export interface StatusChange {
  state: TaskState;
  atMs: number;
  message?: string;
  err?: string;
}

/**
 * The status after the task enters `change.state`, with that state's time appended to its
 * history. A change to the current state only updates the message and error (the scheduler
 * re-explains a pending task without adding a step to its history).
 */
export function statusAfter(status: TaskStatus | undefined, change: StatusChange): TaskStatus {
  const current = status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  assert(change.state >= current, `a task's observed state never moves backwards (${current} to ${change.state})`);
  const history = status?.history ?? [];
  const entered = change.state !== current;
  return {
    timestampMs: entered ? change.atMs : (status?.timestampMs ?? change.atMs),
    state: change.state,
    message: change.message ?? '',
    err: change.err ?? '',
    containerStatus: status?.containerStatus,
    portStatus: status?.portStatus,
    history: entered ? [...history, { state: change.state, atMs: change.atMs }] : [...history],
  };
}
