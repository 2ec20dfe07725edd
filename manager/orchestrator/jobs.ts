import { assert } from '../../lib/assert.js';
import { completed, emptyPlan, jobRuns, stopStaleRuns, wakeAt, type Plan, type ServiceState } from './plan.js';
import { restartDecision } from './restart.js';
import { slotViews, type SlotView } from './slots.js';

/**
 * The replicated job's plan (`--mode replicated-job`, SwarmKit's replicated job orchestrator),
 * pure: `total_completions` tasks must complete, at most `max_concurrent` running at a time.
 * Each completion has its slot (1..total): a slot whose task completed is done for good; one whose
 * task failed is restarted by the restart policy (a job's default condition is on-failure), and
 * one whose policy gave up stays failed — the job then never completes, as in SwarmKit. New slots
 * are started, lowest numbers first, while fewer than `max_concurrent` run and slots remain.
 */

/** What MaxConcurrent 0 means (SwarmKit's default): one task at a time. */
const MAX_CONCURRENT_DEFAULT = 1;

type SlotFate =
  /** Its task completed: one completion counted, nothing more to do. */
  | 'done'
  /** A task runs, or will: it is on its way, or ended and the policy restarts it. */
  | 'active'
  /** Its task ended and the policy gives up: the slot stays failed. */
  | 'given-up'
  /** No task meant to run, none to keep (its last was stopped without ending): started again as new. */
  | 'free';

function fateOf(slot: SlotView): SlotFate {
  if (completed(slot.end)) return 'done';
  if (slot.occupant) return !slot.end || restartDecision(slot.occupant, slot.end).replace ? 'active' : 'given-up';
  return slot.live ? 'given-up' : 'free';
}

export function planReplicatedJob(state: ServiceState): Plan {
  const job = state.service.spec?.replicatedJob;
  assert(job, `planReplicatedJob is given a replicated job (service ${state.service.id})`);
  const plan = emptyPlan();
  const total = job.totalCompletions;
  const maxConcurrent = job.maxConcurrent || MAX_CONCURRENT_DEFAULT;
  const { current, stale } = jobRuns(state.service, state.tasks);
  stopStaleRuns(stale, plan);
  const slots = slotViews(current, state.nodes);
  const taken = new Set<number>();
  let active = 0;
  let settled = 0;
  for (const slot of slots) {
    for (const task of slot.duplicates) plan.shutdown.push({ taskId: task.id, reason: 'duplicate' });
    const fate = fateOf(slot);
    if (fate === 'free') continue;
    taken.add(slot.slot);
    if (fate !== 'active') {
      settled++;
      if (fate === 'given-up' && slot.occupant) plan.shutdown.push({ taskId: slot.occupant.id, reason: 'ended' });
      continue;
    }
    active++;
    const occupant = slot.occupant;
    if (occupant && slot.unfit && !slot.end) {
      // Drained, or its node stopped matching: a job's task is stopped and run again elsewhere.
      plan.shutdown.push({ taskId: occupant.id, reason: slot.unfit });
      plan.create.push({ slot: slot.slot, nodeId: '', replaces: occupant.id, countsAsAttempt: false });
      continue;
    }
    if (!occupant || !slot.end) continue;
    const { replace, notBeforeMs, countsAsAttempt } = restartDecision(occupant, slot.end);
    if (replace && notBeforeMs > state.nowMs) {
      wakeAt(plan, notBeforeMs);
      continue;
    }
    plan.shutdown.push({ taskId: occupant.id, reason: slot.end.kind === 'node-down' ? 'node-down' : 'restarted' });
    if (replace) plan.create.push({ slot: slot.slot, nodeId: '', replaces: occupant.id, countsAsAttempt });
  }
  let next = 1;
  for (let more = Math.min(total - settled - active, maxConcurrent - active); more > 0; more--) {
    while (taken.has(next)) next++;
    taken.add(next);
    plan.create.push({ slot: next, nodeId: '', replaces: '', countsAsAttempt: false });
  }
  return plan;
}
