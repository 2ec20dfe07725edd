import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import { assert } from '../../lib/assert.js';
import { globalFit } from './eligibility.js';
import { completed, emptyPlan, isJob, jobRuns, stopStaleRuns, wakeAt, type Plan, type ServiceState } from './plan.js';
import { restartDecision } from './restart.js';
import { viewOf } from './slots.js';

/**
 * The global orchestrator's plan for one service (`--mode global`, SwarmKit's global
 * orchestrator), pure: one task on every node that is ready, active and matches the service's
 * constraints and platforms. A node that joins (or is made active, or gains the label) gets its
 * task; a drained node's task, or one on a node that stopped matching, is stopped; a paused or
 * down node keeps what it runs and gets nothing new; a node removed from the cluster takes its
 * tasks with it (REMOVE). A task that ends on its node is restarted there, by the same restart
 * policy as a replicated slot's (a node's tasks are its "slot": slot 0, named by the node).
 * A global job (`--mode global-job`) is planned the same way, except that a task that completed
 * is done: its node gets no other (a node that joins later gets one, as in SwarmKit).
 */
export function planGlobal(state: ServiceState): Plan {
  const { service, nodes, nowMs } = state;
  const spec = service.spec;
  assert(
    spec && (spec.global ?? spec.globalJob),
    `planGlobal is given a global service or job (service ${service.id})`,
  );
  const job = isJob(service);
  const template = spec.taskTemplate;
  const plan = emptyPlan();
  const byNode = new Map<string, Task[]>();
  const { current, stale } = job ? jobRuns(service, state.tasks) : { current: state.tasks, stale: [] };
  stopStaleRuns(stale, plan);
  for (const task of current) {
    if (task.desiredState >= TaskState.TASK_STATE_REMOVE) continue;
    const list = byNode.get(task.nodeId);
    if (list) list.push(task);
    else byNode.set(task.nodeId, [task]);
  }
  for (const [nodeId, tasks] of byNode)
    if (!nodes.has(nodeId)) for (const t of tasks) plan.remove.push({ taskId: t.id, reason: 'node-removed' });

  for (const node of nodes.values()) {
    const tasks = byNode.get(node.id) ?? [];
    const view = tasks.length > 0 ? viewOf(0, tasks, nodes) : undefined;
    // A node runs one task: a second one meant to run there stops, whatever made it.
    for (const task of view?.duplicates ?? []) plan.shutdown.push({ taskId: task.id, reason: 'duplicate' });
    if (view?.leaving) plan.shutdown.push({ taskId: view.leaving.task.id, reason: view.leaving.reason });
    const fit = globalFit(template, node);
    if (fit === 'keep') continue;
    const occupant = view?.occupant;
    if (fit !== 'run') {
      if (occupant) plan.shutdown.push({ taskId: occupant.id, reason: fit });
      continue;
    }
    if (!view || (!occupant && !view.live)) {
      plan.create.push({ slot: 0, nodeId: node.id, replaces: '', countsAsAttempt: false });
      continue;
    }
    if (!occupant || !view.end) continue;
    // A global job's task that completed is done on its node: it stays as it is, never rerun.
    if (job && completed(view.end)) continue;
    const { replace, notBeforeMs, countsAsAttempt } = restartDecision(occupant, view.end);
    if (replace && notBeforeMs > nowMs) {
      wakeAt(plan, notBeforeMs);
      continue;
    }
    plan.shutdown.push({ taskId: occupant.id, reason: replace ? 'restarted' : 'ended' });
    if (replace) plan.create.push({ slot: 0, nodeId: node.id, replaces: occupant.id, countsAsAttempt });
  }
  return plan;
}
