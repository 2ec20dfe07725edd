import type { Node, Task, TaskSpec } from '../../gen/tswarm/v1/objects.js';
import { countsForSpread, holdsResources } from '../tasks/task-states.js';

/**
 * What the scheduler knows of a node while it places a batch (SwarmKit's NodeInfo): what remains
 * of its CPU and memory once its tasks' reservations are taken out, and how many tasks it runs,
 * in all and per service, for spreading. Placing a task updates it, so later decisions in the
 * same batch see the earlier ones.
 */
export interface NodeInfo {
  readonly node: Node;
  availableNanoCpus: number;
  availableMemoryBytes: number;
  /** Tasks meant to run here (not told to shut down), of every service. */
  activeTasks: number;
  activeTasksByService: Map<string, number>;
}

export interface Reservations {
  nanoCpus: number;
  memoryBytes: number;
}

export function reservationsOf(spec: TaskSpec | undefined): Reservations {
  const r = spec?.resources?.reservations;
  return { nanoCpus: r?.nanoCpus ?? 0, memoryBytes: r?.memoryBytes ?? 0 };
}

export function newNodeInfo(node: Node): NodeInfo {
  const resources = node.description?.resources;
  return {
    node,
    availableNanoCpus: resources?.nanoCpus ?? 0,
    availableMemoryBytes: resources?.memoryBytes ?? 0,
    activeTasks: 0,
    activeTasksByService: new Map(),
  };
}

export function activeTasksOf(info: NodeInfo, serviceId: string): number {
  return info.activeTasksByService.get(serviceId) ?? 0;
}

/** Accounts for a task on the node: its reservations, and its count if it is meant to run. */
export function addTask(info: NodeInfo, task: Task): void {
  if (!holdsResources(task)) return;
  const r = reservationsOf(task.spec);
  info.availableNanoCpus -= r.nanoCpus;
  info.availableMemoryBytes -= r.memoryBytes;
  if (countsForSpread(task)) addActive(info, task.serviceId);
}

/** Accounts for a task the scheduler has just placed here (not yet in the store). */
export function addPlacement(info: NodeInfo, serviceId: string, r: Reservations): void {
  info.availableNanoCpus -= r.nanoCpus;
  info.availableMemoryBytes -= r.memoryBytes;
  addActive(info, serviceId);
}

function addActive(info: NodeInfo, serviceId: string): void {
  info.activeTasks += 1;
  info.activeTasksByService.set(serviceId, activeTasksOf(info, serviceId) + 1);
}

/**
 * One NodeInfo per node, with the tasks already on it accounted for. Tasks on nodes not listed
 * (removed nodes) are ignored; so are tasks that ended, which hold nothing.
 */
export function nodeInfosOf(nodes: readonly Node[], tasks: Iterable<Task>): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const node of nodes) infos.set(node.id, newNodeInfo(node));
  for (const task of tasks) {
    const info = infos.get(task.nodeId);
    if (info) addTask(info, task);
  }
  return infos;
}
