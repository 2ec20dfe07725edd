import { NodeAvailability, NodeState, type Node, type Platform, type Task } from '../../gen/tswarm/v1/objects.js';
import { firstUnmet, parseConstraints, type Constraint } from './constraint.js';
import { activeTasksOf, reservationsOf, type NodeInfo, type Reservations } from './node-info.js';
import { platformSupported } from './platform.js';

/**
 * The filters a node must pass to take a task, in SwarmKit's order (readiness, platform,
 * constraints, max replicas, resources), and the explanation of a task that passes on no node.
 * A node is charged to the first filter it fails, so the counts in an explanation add up to the
 * number of nodes.
 */

/** What a node must offer a task; every task of one group asks the same (see groupKeyOf). */
export interface Requirements {
  serviceId: string;
  constraints: readonly Constraint[];
  platforms: readonly Platform[];
  /** 0: no limit. */
  maxReplicasPerNode: number;
  reservations: Reservations;
}

/** Throws a TswarmError when a stored constraint does not parse (the control API refuses those). */
export function requirementsOf(task: Task): Requirements {
  const placement = task.spec?.placement;
  return {
    serviceId: task.serviceId,
    constraints: parseConstraints(placement?.constraints ?? []),
    platforms: placement?.platforms ?? [],
    maxReplicasPerNode: placement?.maxReplicasPerNode ?? 0,
    reservations: reservationsOf(task.spec),
  };
}

/** Why a node cannot take the task; `rank` is the filter's place in the pipeline. */
export interface Failure {
  key: string;
  rank: number;
  describe(nodes: number): string;
}

const nodesText = (n: number) => (n === 1 ? '1 node' : `${n} nodes`);
const simple = (key: string, rank: number, describe: (n: number) => string): Failure => ({ key, rank, describe });

const NOT_READY = simple('not-ready', 0, (n) => `${nodesText(n)} not ready`);
const PAUSED = simple('paused', 1, (n) => `${nodesText(n)} paused`);
const DRAINED = simple('drained', 2, (n) => `${nodesText(n)} drained`);
const PLATFORM = simple('platform', 3, (n) => `unsupported platform on ${nodesText(n)}`);
const CONSTRAINT_RANK = 4;
// Ranks after every constraint's: a service has at most a few hundred constraints.
const AFTER_CONSTRAINTS_RANK = 1_000_000;
const CPU = simple('cpu', AFTER_CONSTRAINTS_RANK + 1, (n) => `insufficient CPU on ${nodesText(n)}`);
const MEMORY = simple('memory', AFTER_CONSTRAINTS_RANK + 2, (n) => `insufficient memory on ${nodesText(n)}`);

function constraintFailure(c: Constraint, index: number): Failure {
  return simple(
    `constraint:${index}`,
    CONSTRAINT_RANK + index,
    (n) => `${nodesText(n)} not matching constraint ${c.text}`,
  );
}

function maxReplicasFailure(max: number): Failure {
  return simple(
    'max-replicas',
    AFTER_CONSTRAINTS_RANK,
    (n) => `max replicas per node (${max}) reached on ${nodesText(n)}`,
  );
}

/**
 * The filters that do not change while a batch is placed: whether the node takes new tasks at
 * all, its platform, the constraints.
 */
export function staticFailure(req: Requirements, node: Node): Failure | undefined {
  if (node.status?.state !== NodeState.NODE_STATE_READY) return NOT_READY;
  const availability = node.spec?.availability;
  if (availability === NodeAvailability.NODE_AVAILABILITY_PAUSE) return PAUSED;
  if (availability === NodeAvailability.NODE_AVAILABILITY_DRAIN) return DRAINED;
  if (!platformSupported(req.platforms, node)) return PLATFORM;
  const unmet = firstUnmet(req.constraints, node);
  if (unmet) return constraintFailure(unmet, req.constraints.indexOf(unmet));
  return undefined;
}

/** The filters that each placement on the node can make it fail: max replicas, CPU, memory. */
export function dynamicFailure(req: Requirements, info: NodeInfo): Failure | undefined {
  if (req.maxReplicasPerNode > 0 && activeTasksOf(info, req.serviceId) >= req.maxReplicasPerNode)
    return maxReplicasFailure(req.maxReplicasPerNode);
  if (req.reservations.nanoCpus > info.availableNanoCpus) return CPU;
  if (req.reservations.memoryBytes > info.availableMemoryBytes) return MEMORY;
  return undefined;
}

export function firstFailure(req: Requirements, info: NodeInfo): Failure | undefined {
  return staticFailure(req, info.node) ?? dynamicFailure(req, info);
}

/**
 * Why no node takes the task, as SwarmKit words it: "no suitable node (insufficient memory on 3
 * nodes; 2 nodes not matching constraint node.labels.zone==eu)" — each reason with its count of
 * nodes, most nodes first, ties in pipeline order, so the text is stable from one pass to the next.
 */
export function explainNoNode(req: Requirements, infos: Iterable<NodeInfo>): string {
  const counted = new Map<string, { failure: Failure; nodes: number }>();
  for (const info of infos) {
    const failure = firstFailure(req, info);
    if (!failure) continue;
    const entry = counted.get(failure.key);
    if (entry) entry.nodes += 1;
    else counted.set(failure.key, { failure, nodes: 1 });
  }
  if (counted.size === 0) return 'no suitable node';
  const reasons = [...counted.values()]
    .sort((a, b) => b.nodes - a.nodes || a.failure.rank - b.failure.rank)
    .map((e) => e.failure.describe(e.nodes));
  return `no suitable node (${reasons.join('; ')})`;
}
