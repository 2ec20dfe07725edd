import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import { assert } from '../../lib/assert.js';
import { observedState } from '../tasks/task-states.js';
import { emptyPlan, wakeAt, type Plan, type ServiceState } from './plan.js';
import { restartDecision } from './restart.js';
import { slotViews, type SlotView } from './slots.js';

/**
 * The replicated orchestrator's plan for one service (SwarmKit's replicated reconcile, as a pure
 * function): keep exactly `replicas` live slots, each with at most one task meant to run.
 *
 * - A slot whose task ended, or whose node died, gets a replacement in the same slot when the
 *   restart policy says so; the old task is told to shut down (so a node that comes back stops
 *   it, and the slot never has two tasks running).
 * - Scaling up fills the lowest free slot numbers, so a new service has slots 1..N and a gap left
 *   by a scale-down is filled first.
 * - Scaling down keeps a balanced service, as SwarmKit does: it removes first the slots whose task
 *   is not running well (pending, ended, on a dead node), then the tasks that are the most
 *   copies on their node, and among equals the highest slots. Their tasks go to REMOVE.
 *
 * Planning the result of a plan plans nothing: a replacement is the occupant of its slot, a
 * removed slot's tasks are at REMOVE and belong to no slot.
 */
export function planReplicated(state: ServiceState): Plan {
  const replicated = state.service.spec?.replicated;
  assert(replicated, `planReplicated is given a replicated service (service ${state.service.id})`);
  const plan = emptyPlan();
  const live = slotViews(state.tasks, state.nodes).filter((s) => s.live);
  const kept = inKeepOrder(live);
  for (const slot of kept.slice(replicated.replicas)) {
    for (const task of slot.tasks) plan.remove.push({ taskId: task.id, reason: 'scaled-down' });
  }
  for (const slot of kept.slice(0, replicated.replicas)) keepSlot(slot, plan, state.nowMs);
  const taken = new Set(live.map((s) => s.slot));
  let next = 1;
  for (let missing = replicated.replicas - live.length; missing > 0; missing--) {
    while (taken.has(next)) next++;
    taken.add(next);
    plan.create.push({ slot: next, nodeId: '', replaces: '', countsAsAttempt: false });
  }
  return plan;
}

/**
 * A kept slot: its duplicates stop; an occupant that no longer runs stops and may be replaced. A
 * restart the policy delays waits with its ended occupant still in the slot (so the slot stays
 * taken) until it is due; the plan says when that is. An occupant that must leave its node while
 * it runs (drained, constraints no longer met) is replaced first: it stops once its replacement
 * runs, or cannot be placed, or ends — so a drain never leaves a slot with nothing running when
 * the cluster has room.
 */
function keepSlot(slot: SlotView, plan: Plan, nowMs: number): void {
  for (const task of slot.duplicates) plan.shutdown.push({ taskId: task.id, reason: 'duplicate' });
  const occupant = slot.occupant;
  if (slot.leaving && occupant && replacementSettled(occupant, slot))
    plan.shutdown.push({ taskId: slot.leaving.task.id, reason: slot.leaving.reason });
  if (!occupant) return;
  if (slot.unfit && !slot.end) {
    const { replace } = restartDecision(occupant, { kind: 'stopped' });
    if (replace) plan.create.push({ slot: slot.slot, nodeId: '', replaces: occupant.id, countsAsAttempt: false });
    else plan.shutdown.push({ taskId: occupant.id, reason: slot.unfit });
    return;
  }
  if (!slot.end) return;
  const { replace, notBeforeMs, countsAsAttempt } = restartDecision(occupant, slot.end);
  if (replace && notBeforeMs > nowMs) {
    wakeAt(plan, notBeforeMs);
    return;
  }
  const reason = slot.end.kind === 'node-down' ? 'node-down' : replace ? 'restarted' : 'ended';
  plan.shutdown.push({ taskId: occupant.id, reason });
  if (replace) plan.create.push({ slot: slot.slot, nodeId: '', replaces: occupant.id, countsAsAttempt });
}

/**
 * The replacement of a task that must leave its node has settled: it runs, or it fits on no node
 * (the scheduler said why), or it ended. Until then the leaving task keeps serving.
 */
function replacementSettled(replacement: Task, slot: SlotView): boolean {
  const state = observedState(replacement);
  if (state === TaskState.TASK_STATE_RUNNING || slot.end) return true;
  return state <= TaskState.TASK_STATE_PENDING && (replacement.status?.err ?? '') !== '';
}

/**
 * The live slots, the ones to keep first. Each slot whose task runs well gets its rank among the
 * service's tasks on its node (1 for the first copy there, 2 for the second…), running tasks and
 * lower slots ranking first; keeping low ranks first removes from the busiest nodes. Slots
 * without a task running well rank after every other.
 */
const UNRANKED = Number.MAX_SAFE_INTEGER;

function inKeepOrder(live: readonly SlotView[]): SlotView[] {
  const running = (s: SlotView) => (s.occupant && observedState(s.occupant) === TaskState.TASK_STATE_RUNNING ? 0 : 1);
  const placedWell = (s: SlotView) => s.occupant !== undefined && !s.end && s.occupant.nodeId !== '';
  const byRunningThenSlot = [...live].sort((a, b) => running(a) - running(b) || a.slot - b.slot);
  const copiesOnNode = new Map<string, number>();
  const rank = new Map<SlotView, number>();
  for (const s of byRunningThenSlot) {
    if (!placedWell(s)) {
      rank.set(s, UNRANKED);
      continue;
    }
    const nodeId = s.occupant!.nodeId;
    const copies = (copiesOnNode.get(nodeId) ?? 0) + 1;
    copiesOnNode.set(nodeId, copies);
    rank.set(s, copies);
  }
  return byRunningThenSlot.sort((a, b) => rank.get(a)! - rank.get(b)! || running(a) - running(b) || a.slot - b.slot);
}
