import { TaskState, type Service, type Task } from '../../gen/tswarm/v1/objects.js';
import { assert } from '../../lib/assert.js';
import { statusAfter } from '../tasks/task-states.js';
import { isJob, type Plan, type TaskToCreate } from './plan.js';
import { restartHistoryAfter } from './restart.js';

/**
 * Turns a plan into the objects to write: the new tasks, and the existing ones with their desired
 * state raised. Pure too: IDs and the time come from the caller, so the orchestrator's loop writes
 * the result in one transaction and tests replay it exactly.
 */

export interface ApplyContext {
  nowMs: number;
  newId: () => string;
}

export interface AppliedPlan {
  created: Task[];
  updated: Task[];
}

/**
 * A new task for a slot (or a node), made from the service's current spec and spec version; a
 * replacement carries its slot's restart history on.
 */
export function newTask(service: Service, what: TaskToCreate, id: string, nowMs: number, replaced?: Task): Task {
  const template = service.spec?.taskTemplate;
  return {
    id,
    meta: undefined,
    spec: template === undefined ? undefined : structuredClone(template),
    serviceId: service.id,
    slot: what.slot,
    nodeId: what.nodeId,
    annotations: undefined,
    serviceAnnotations: service.spec?.annotations === undefined ? undefined : structuredClone(service.spec.annotations),
    status: statusAfter(undefined, { state: TaskState.TASK_STATE_NEW, atMs: nowMs, message: 'created' }),
    // A job's task is meant to run to its end (SwarmKit's desired COMPLETE), a service's to run on.
    desiredState: isJob(service) ? TaskState.TASK_STATE_COMPLETE : TaskState.TASK_STATE_RUNNING,
    networks: [],
    endpoint: undefined,
    specVersion: service.specVersion ?? 0,
    ...(isJob(service) ? { jobIteration: service.specVersion ?? 0 } : {}),
    ...(replaced
      ? restartHistoryAfter(replaced, what.countsAsAttempt, nowMs)
      : { restartCount: 0, restartTimesMs: [] }),
  };
}

function withDesiredState(task: Task, desiredState: TaskState): Task {
  // Desired states only move forwards (RUNNING, SHUTDOWN, REMOVE): a plan never revives a task.
  assert(desiredState >= task.desiredState, `task ${task.id}'s desired state never moves backwards`);
  return { ...task, desiredState };
}

export function applyPlan(service: Service, tasks: readonly Task[], plan: Plan, ctx: ApplyContext): AppliedPlan {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const updated = new Map<string, Task>();
  const raise = (taskId: string, state: TaskState) => {
    const task = updated.get(taskId) ?? byId.get(taskId);
    assert(task, `a plan stops only tasks it was given (task ${taskId})`);
    updated.set(taskId, withDesiredState(task, state));
  };
  for (const stop of plan.shutdown) raise(stop.taskId, TaskState.TASK_STATE_SHUTDOWN);
  for (const stop of plan.remove) raise(stop.taskId, TaskState.TASK_STATE_REMOVE);
  const created = plan.create.map((what) =>
    newTask(service, what, ctx.newId(), ctx.nowMs, what.replaces ? byId.get(what.replaces) : undefined),
  );
  return { created, updated: [...updated.values()] };
}
