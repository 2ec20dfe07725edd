import { RestartCondition, TaskState, type Task } from '../../gen/tswarm/v1/objects.js';

/**
 * Whether a task that stopped running in its slot is replaced: the restart policy's decision, a
 * step of its own so the planners stay free of policy (SwarmKit's restart supervisor). Today it
 * reads the condition, as SwarmKit's shouldRestart does; the delay, the maximum attempts and the
 * window come with the restart-policy issue, and need only this function and its input to grow
 * (the slot's history and the time).
 */

export type EndCause =
  /** Its node is DOWN or gone; the task may still be running there, unreachable. */
  | { kind: 'node-down' }
  /** The worker reported an end state (COMPLETE, FAILED, REJECTED, SHUTDOWN, ORPHANED). */
  | { kind: 'ended'; state: TaskState }
  /** It was told to stop (by a drain, an update, an earlier plan) and has not ended yet. */
  | { kind: 'stopped' };

export interface RestartDecision {
  replace: boolean;
}

/**
 * Docker's default condition is `any`. `on-failure` replaces everything but a clean exit
 * (COMPLETE); a task on a dead node, or stopped before it ended, reported none, so it is
 * replaced too. `none` replaces
 * nothing, not even after a node death, as in SwarmKit: the slot keeps its stopped task.
 */
export function restartDecision(task: Task, cause: EndCause): RestartDecision {
  const condition = task.spec?.restart?.condition ?? RestartCondition.RESTART_CONDITION_UNSPECIFIED;
  switch (condition) {
    case RestartCondition.RESTART_CONDITION_NONE:
      return { replace: false };
    case RestartCondition.RESTART_CONDITION_ON_FAILURE:
      return { replace: cause.kind !== 'ended' || cause.state !== TaskState.TASK_STATE_COMPLETE };
    case RestartCondition.RESTART_CONDITION_ANY:
    case RestartCondition.RESTART_CONDITION_UNSPECIFIED:
      return { replace: true };
  }
}
