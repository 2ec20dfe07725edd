import { NodeAvailability, NodeState, type Node, type TaskSpec } from '../../gen/tswarm/v1/objects.js';
import { firstUnmet, parseConstraints } from '../scheduler/constraint.js';
import { platformSupported } from '../scheduler/platform.js';

/**
 * Whether a node may go on running a task that is there, from the orchestrator's side (SwarmKit's
 * constraint enforcer and drain handling): the scheduler decides where new tasks go; this decides
 * when a task already placed must move.
 */

export type Unfit =
  /** `node update --availability drain`: its tasks move elsewhere. */
  | 'node-drained'
  /** The node no longer matches the task's constraints (a label removed) or platforms. */
  | 'constraints-unmet';

/** Why a task of this spec should leave the node, or undefined when it may stay. */
export function unfitReason(spec: TaskSpec | undefined, node: Node | undefined): Unfit | undefined {
  if (!node) return undefined; // gone: the dead-node rule moves it
  if (node.spec?.availability === NodeAvailability.NODE_AVAILABILITY_DRAIN) return 'node-drained';
  const placement = spec?.placement;
  if (!platformSupported(placement?.platforms ?? [], node)) return 'constraints-unmet';
  // Stored constraints were checked when the service was written; a bad one fails no node.
  let constraints;
  try {
    constraints = parseConstraints(placement?.constraints ?? []);
  } catch {
    return undefined;
  }
  return firstUnmet(constraints, node) ? 'constraints-unmet' : undefined;
}

/** What a global service does on a node (SwarmKit's global orchestrator). */
export type GlobalFit =
  /** Ready, active, matching: one task runs there. */
  | 'run'
  /** Paused, down or not yet reporting: its task (if any) is left as it is, no new one is made. */
  | 'keep'
  /** Drained or not matching: its task stops. */
  | Unfit;

export function globalFit(spec: TaskSpec | undefined, node: Node): GlobalFit {
  const unfit = unfitReason(spec, node);
  if (unfit) return unfit;
  if (node.spec?.availability === NodeAvailability.NODE_AVAILABILITY_PAUSE) return 'keep';
  if (node.status?.state !== NodeState.NODE_STATE_READY) return 'keep';
  return 'run';
}
