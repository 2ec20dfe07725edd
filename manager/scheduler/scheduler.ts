import type { Node, Task } from '../../gen/tswarm/v1/objects.js';
import { dynamicFailure, explainNoNode, firstFailure, requirementsOf, type Requirements } from './filters.js';
import { addPlacement, nodeInfosOf, type NodeInfo } from './node-info.js';
import { buildSpreadTree, parseSpreadDescriptor, takeNode, type SpreadLabel } from './spread-tree.js';

/**
 * The scheduler's pure core (SwarmKit's scheduler, without its loop): given the nodes, the tasks
 * already on them and a batch of tasks waiting for a node, decide a node for each, or why it must
 * wait. No store, no clock: the leader's scheduling loop reads the store, calls this, and writes
 * the decisions (ASSIGNED with the node, or PENDING with the reason in the status's `err`, where
 * `service ps` shows it).
 */

export interface Assignment {
  taskId: string;
  nodeId: string;
}

export interface Unplaced {
  taskId: string;
  /** "no suitable node (insufficient memory on 3 nodes; …)", or why the task's spec is unusable. */
  reason: string;
}

export interface Decisions {
  assignments: Assignment[];
  pending: Unplaced[];
}

export interface SchedulingInput {
  nodes: readonly Node[];
  /** Tasks already on nodes, for reservations and spread; ended ones are ignored. */
  placed: Iterable<Task>;
  /** Tasks waiting for a node, oldest first: when nodes run short, the first ones get them. */
  unassigned: readonly Task[];
  /**
   * Tasks made for a node (a global service's) not yet assigned: they go there if it can take
   * them, else wait with the reason. Checked before the unassigned ones take the room.
   */
  preassigned?: readonly Task[];
}

export function placeTasks(input: SchedulingInput): Decisions {
  const infos = nodeInfosOf(input.nodes, input.placed);
  const decisions = checkPreassigned(infos, input.preassigned ?? []);
  const placed = scheduleBatch(infos, input.unassigned);
  return {
    assignments: [...decisions.assignments, ...placed.assignments],
    pending: [...decisions.pending, ...placed.pending],
  };
}

/**
 * SwarmKit's preassigned tasks: the orchestrator chose the node; the scheduler checks it is ready
 * and has room (the same filters, the same words) before the task is ASSIGNED, and charges it.
 */
function checkPreassigned(infos: ReadonlyMap<string, NodeInfo>, tasks: readonly Task[]): Decisions {
  const decisions: Decisions = { assignments: [], pending: [] };
  for (const task of tasks) {
    const info = infos.get(task.nodeId);
    let reason: string | undefined;
    try {
      const req = requirementsOf(task);
      if (!info) reason = `node ${task.nodeId} is not in the cluster`;
      else {
        const failure = firstFailure(req, info);
        if (failure) reason = `no suitable node (${failure.describe(1)})`;
        else addPlacement(info, req.serviceId, req.reservations);
      }
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (reason === undefined) decisions.assignments.push({ taskId: task.id, nodeId: task.nodeId });
    else decisions.pending.push({ taskId: task.id, reason });
  }
  return decisions;
}

/**
 * Places `tasks` on the nodes of `infos`, updating them with each placement, so a loop that keeps
 * its NodeInfos between batches sees the placements it made.
 */
export function scheduleBatch(infos: ReadonlyMap<string, NodeInfo>, tasks: readonly Task[]): Decisions {
  const decisions: Decisions = { assignments: [], pending: [] };
  for (const group of groupTasks(tasks)) scheduleGroup(infos, group, decisions);
  return decisions;
}

/**
 * Tasks that ask the same of a node (service, constraints, platforms, limit per node,
 * reservations, preferences) are placed together over one spread tree, in their order; groups
 * in the order of their first task. SwarmKit groups the same way, by service and spec.
 */
function groupTasks(tasks: readonly Task[]): Task[][] {
  const groups = new Map<string, Task[]>();
  for (const task of tasks) {
    const p = task.spec?.placement;
    const r = task.spec?.resources?.reservations;
    const key = JSON.stringify([
      task.serviceId,
      p?.constraints,
      p?.platforms,
      p?.maxReplicasPerNode,
      p?.preferences,
      r?.nanoCpus,
      r?.memoryBytes,
    ]);
    const group = groups.get(key);
    if (group) group.push(task);
    else groups.set(key, [task]);
  }
  return [...groups.values()];
}

function scheduleGroup(infos: ReadonlyMap<string, NodeInfo>, tasks: readonly Task[], decisions: Decisions): void {
  let req: Requirements;
  let labels: SpreadLabel[];
  try {
    req = requirementsOf(tasks[0]!);
    labels = (tasks[0]!.spec?.placement?.preferences ?? []).map((p) => parseSpreadDescriptor(p.spreadDescriptor));
  } catch (err) {
    // The control API refuses such specs; one stored before that check waits with the reason.
    const reason = err instanceof Error ? err.message : String(err);
    for (const task of tasks) decisions.pending.push({ taskId: task.id, reason });
    return;
  }
  const tree = buildSpreadTree(infos.values(), req.serviceId, labels, (info) => !firstFailure(req, info));
  let placed = 0;
  while (tree && placed < tasks.length) {
    const info = takeNode(
      tree,
      (i) => addPlacement(i, req.serviceId, req.reservations),
      (i) => !dynamicFailure(req, i),
    );
    if (!info) break;
    decisions.assignments.push({ taskId: tasks[placed]!.id, nodeId: info.node.id });
    placed += 1;
  }
  if (placed === tasks.length) return;
  // Every task of the group asks the same, so one explanation serves them all.
  const reason = explainNoNode(req, infos.values());
  for (const task of tasks.slice(placed)) decisions.pending.push({ taskId: task.id, reason });
}
