import { RestartCondition, TaskState, type Task } from '../../gen/tswarm/v1/objects.js';

/**
 * Whether, and when, a task that stopped running in its slot is replaced: the restart policy's
 * decision (SwarmKit's restart supervisor), a step of its own so the planners stay free of policy.
 *
 * It is a function of the task alone, and of the time it ended — never of the time now — so a
 * planner asking again later gets the same answer: a slot that gave up stays given up, and a
 * delayed restart happens at one known time, which the orchestrator's loop wakes up for.
 *
 * Two kinds of end are told apart, as Nomad tells restarts from reschedules:
 * - the task itself ended (it exited, failed, was rejected): a restart, which waits the policy's
 *   delay and counts against its maximum attempts;
 * - its node died, or it was stopped before it ended: the task did nothing wrong, so it moves at
 *   once and counts as no attempt (SwarmKit delays these too; here a dead node's work is back
 *   running within seconds — docs/services.md says so).
 */

/** Docker's defaults when a service names none: condition any, 5 s delay, no maximum. */
export const RESTART_DELAY_DEFAULT_MS = 5_000;
/**
 * The restart times a task carries are bounded: a window with more attempts than this is counted
 * over the latest ones only, which can only restart less, never more, than asked.
 */
export const RESTART_TIMES_KEPT_MAX = 1_000;

export type EndCause =
  /** Its node is DOWN or gone; the task may still be running there, unreachable. */
  | { kind: 'node-down' }
  /** The worker reported an end state (COMPLETE, FAILED, REJECTED, SHUTDOWN, ORPHANED). */
  | { kind: 'ended'; state: TaskState }
  /** It was told to stop (by a drain, an update, an earlier plan) and has not ended yet. */
  | { kind: 'stopped' };

export interface RestartDecision {
  replace: boolean;
  /** Not before this time (ms since the epoch); 0: at once. Only set when `replace`. */
  notBeforeMs: number;
  /** The replacement is a restart: it counts against the maximum attempts. */
  countsAsAttempt: boolean;
}

const NO: RestartDecision = { replace: false, notBeforeMs: 0, countsAsAttempt: false };
const AT_ONCE: RestartDecision = { replace: true, notBeforeMs: 0, countsAsAttempt: false };

/**
 * Docker's conditions: `any` (the default) replaces every task; `on-failure` every task but one
 * that exited cleanly (COMPLETE) — a task on a dead node, or stopped before it ended, reported no
 * exit, so it is replaced too; `none` replaces nothing, not even after a node death, as in
 * SwarmKit: the slot keeps its stopped task.
 */
export function restartDecision(task: Task, cause: EndCause): RestartDecision {
  const policy = task.spec?.restart;
  const condition = policy?.condition ?? RestartCondition.RESTART_CONDITION_UNSPECIFIED;
  if (condition === RestartCondition.RESTART_CONDITION_NONE) return NO;
  if (cause.kind !== 'ended') return AT_ONCE;
  if (condition === RestartCondition.RESTART_CONDITION_ON_FAILURE && cause.state === TaskState.TASK_STATE_COMPLETE)
    return NO;
  const endedAtMs = task.status?.timestampMs ?? 0;
  if (attemptsUsed(task, endedAtMs) >= (policy?.maxAttempts || Infinity)) return NO;
  return {
    replace: true,
    notBeforeMs: endedAtMs + (policy?.delayMs ?? RESTART_DELAY_DEFAULT_MS),
    countsAsAttempt: true,
  };
}

/**
 * The restarts that count against the maximum when the task ended: all of the slot's, or with a
 * window those in the window that closed when it ended (SwarmKit counts from the failure too).
 */
function attemptsUsed(task: Task, endedAtMs: number): number {
  const windowMs = task.spec?.restart?.windowMs ?? 0;
  if (windowMs <= 0) return task.restartCount;
  return task.restartTimesMs.filter((t) => t > endedAtMs - windowMs && t <= endedAtMs).length;
}

/** The restart history a replacement carries: one more attempt at `nowMs`, when it is one. */
export function restartHistoryAfter(
  replaced: Task,
  countsAsAttempt: boolean,
  nowMs: number,
): Pick<Task, 'restartCount' | 'restartTimesMs'> {
  if (!countsAsAttempt) return { restartCount: replaced.restartCount, restartTimesMs: [...replaced.restartTimesMs] };
  // Only a windowed maximum reads the times, and never more of them than the maximum.
  const kept = Math.min(replaced.spec?.restart?.maxAttempts || 1, RESTART_TIMES_KEPT_MAX);
  return {
    restartCount: replaced.restartCount + 1,
    restartTimesMs: [...replaced.restartTimesMs, nowMs].slice(-kept),
  };
}
