import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import { stopGracePeriodMs, STOP_GRACE_PERIOD_DEFAULT_MS, type TaskContainer } from './task-container.js';

/** A state change the agent reports, with what Docker shows for it (`service ps`'s CURRENT STATE and ERROR). */
export interface Report {
  kind: 'report';
  taskId: string;
  state: TaskState;
  message: string;
  err: string;
  containerId: string;
  exitCode: number;
}

export type Action =
  /** Pull the image, create the container, start it (PREPARING → READY → STARTING → RUNNING). */
  | { kind: 'prepare-and-start'; taskId: string; task: Task }
  /** A created container that never started (the daemon stopped between create and start). */
  | { kind: 'start'; taskId: string; task: Task; containerId: string }
  | Report
  /** Stop with the task's grace period; the exit is reported as SHUTDOWN on the next round. */
  | { kind: 'stop'; taskId: string; containerId: string; gracePeriodMs: number }
  /** A container whose task is no longer assigned (or a duplicate): stopped if running, then removed. */
  | { kind: 'remove'; taskId: string; containerId: string; gracePeriodMs: number };

export interface PlanInput {
  /** The tasks assigned to this node, as the manager last sent them. */
  tasks: readonly Task[];
  /** The furthest state known of each task: reported by this agent, or the store's when further. */
  stateOf(taskId: string): TaskState;
  /** This node's task containers, as the engine holds them now. */
  containers: readonly TaskContainer[];
  /**
   * Whether `tasks` is a complete set from a manager. Until one arrives (a daemon just restarted,
   * no manager reachable), containers of tasks not in it are kept: a worker cut off from the
   * managers keeps its containers.
   */
  completeSetKnown: boolean;
  /** Task IDs with an operation under way: nothing more is planned for them until it ends. */
  busy: ReadonlySet<string>;
}

const isTerminal = (s: TaskState) => s >= TaskState.TASK_STATE_COMPLETE;

function report(taskId: string, state: TaskState, message: string, c?: TaskContainer, err = ''): Report {
  return { kind: 'report', taskId, state, message, err, containerId: c?.id ?? '', exitCode: c?.exitCode ?? 0 };
}

/** What happened to a container that ended, as Docker reports it: exit 0 completes, anything else fails. */
function exited(taskId: string, c: TaskContainer): Report {
  if (c.exitCode === 0) return report(taskId, TaskState.TASK_STATE_COMPLETE, 'finished', c);
  return report(taskId, TaskState.TASK_STATE_FAILED, 'started', c, `task: non-zero exit (${c.exitCode})`);
}

/** A task meant to run: start what is missing, report what changed. */
function planRunning(task: Task, state: TaskState, c: TaskContainer | undefined): Action[] {
  if (isTerminal(state)) {
    // Reported finished yet running (a container started by hand): a finished task stays finished.
    return c?.status === 'running'
      ? [{ kind: 'stop', taskId: task.id, containerId: c.id, gracePeriodMs: stopGracePeriodMs(task) }]
      : [];
  }
  if (!c) {
    // Before STARTING, no container yet is normal (a restart cut the pull short): prepare again.
    if (state < TaskState.TASK_STATE_STARTING) return [{ kind: 'prepare-and-start', taskId: task.id, task }];
    return [
      report(
        task.id,
        TaskState.TASK_STATE_FAILED,
        'started',
        undefined,
        'task: its container is gone (removed outside tswarm)',
      ),
    ];
  }
  if (c.status === 'running')
    return state < TaskState.TASK_STATE_RUNNING ? [report(task.id, TaskState.TASK_STATE_RUNNING, 'started', c)] : [];
  if (c.status === 'created' && state < TaskState.TASK_STATE_RUNNING)
    return [{ kind: 'start', taskId: task.id, task, containerId: c.id }];
  if (c.status === 'created')
    return [report(task.id, TaskState.TASK_STATE_FAILED, 'started', c, 'task: its container was reset')];
  return [exited(task.id, c)];
}

/** A task whose desired state moved past RUNNING (COMPLETE for a job): stop it, then say it is shut down. */
function planShutdown(task: Task, state: TaskState, c: TaskContainer | undefined): Action[] {
  if (c?.status === 'running')
    return [{ kind: 'stop', taskId: task.id, containerId: c.id, gracePeriodMs: stopGracePeriodMs(task) }];
  if (isTerminal(state)) return [];
  return [report(task.id, TaskState.TASK_STATE_SHUTDOWN, 'shutdown', c)];
}

/**
 * The agent's reconciliation, pure: assigned tasks and the engine's containers in, actions out.
 * Tasks are never restarted here — a task that ends stays ended, and the orchestrator makes a new
 * one (SwarmKit's model) — and nothing moves a task's state backwards.
 */
export function planTasks(input: PlanInput): Action[] {
  const byTask = new Map<string, TaskContainer[]>();
  for (const c of input.containers) byTask.set(c.taskId, [...(byTask.get(c.taskId) ?? []), c]);
  const actions: Action[] = [];
  const assigned = new Set<string>();
  for (const task of input.tasks) {
    assigned.add(task.id);
    if (input.busy.has(task.id)) continue;
    // The newest container is the task's; an older one (a create retried after a crash) goes.
    const [c, ...extra] = [...(byTask.get(task.id) ?? [])].sort((a, b) => b.createdAtMs - a.createdAtMs);
    for (const old of extra)
      actions.push({ kind: 'remove', taskId: task.id, containerId: old.id, gracePeriodMs: stopGracePeriodMs(task) });
    const state = input.stateOf(task.id);
    // Desired RUNNING, or a job's COMPLETE: run it (a job's task then ends by itself).
    if (task.desiredState === TaskState.TASK_STATE_RUNNING || task.desiredState === TaskState.TASK_STATE_COMPLETE)
      actions.push(...planRunning(task, state, c));
    else if (task.desiredState > TaskState.TASK_STATE_COMPLETE) actions.push(...planShutdown(task, state, c));
    // Desired ASSIGNED … READY: the manager has not asked for a start yet; nothing to do.
  }
  if (!input.completeSetKnown) return actions;
  for (const c of input.containers) {
    if (assigned.has(c.taskId) || input.busy.has(c.taskId)) continue;
    actions.push({ kind: 'remove', taskId: c.taskId, containerId: c.id, gracePeriodMs: STOP_GRACE_PERIOD_DEFAULT_MS });
  }
  return actions;
}
