import {
  updateStateToJSON,
  type Network,
  type Node,
  type Service,
  type UpdateState,
} from '../../gen/tswarm/v1/objects.js';
import type { ChangeEvent } from '../../manager/store/watch.js';
import type { Kind } from '../../manager/store/kinds.js';
import { AVAILABILITY_WORD, NODE_STATE_WORD, REACHABILITY_WORD, roleWord } from '../api/node-shapes.js';
import { NS_PER_MS, type EventType } from './message.js';

/**
 * What dockerd makes of the swarm's store changes (moby daemon/events.go, logNodeEvent and
 * logServiceEvent): `create`, `update` and `remove` of nodes, services and networks, scope
 * "swarm", with the object's name and, on an update, the old and new value of what changed.
 * Tasks make no events in Docker (its managers watch nodes, services, networks, secrets and
 * configs only); a task's life shows as the container events of the node that runs it.
 */
export const SWARM_EVENT_KINDS: readonly Kind[] = ['node', 'service', 'network'];

export interface SwarmEvent {
  type: EventType;
  action: 'create' | 'update' | 'remove';
  id: string;
  attributes: Record<string, string>;
  timeNano: bigint;
}

/** `old` and `new` of one attribute, only when they differ. */
function changed(attributes: Record<string, string>, name: string, before: string, after: string): void {
  if (before === after) return;
  attributes[`${name}.old`] = before;
  attributes[`${name}.new`] = after;
}

function nodeAttributes(node: Node, previous: Node | undefined): Record<string, string> {
  const attributes: Record<string, string> = { name: node.spec?.annotations?.name || node.description?.hostname || '' };
  if (!previous) return attributes;
  const availability = (n: Node) => AVAILABILITY_WORD[n.spec?.availability ?? 0] ?? 'active';
  changed(attributes, 'availability', availability(previous), availability(node));
  changed(attributes, 'role', roleWord(previous.role), roleWord(node.role));
  const state = (n: Node) => NODE_STATE_WORD[n.status?.state ?? 0] ?? 'unknown';
  changed(attributes, 'state', state(previous), state(node));
  // Within the manager role: a leader change, a manager becoming (un)reachable.
  if (node.managerStatus && previous.managerStatus) {
    changed(attributes, 'leader', String(previous.managerStatus.leader), String(node.managerStatus.leader));
    const reach = (n: Node) => REACHABILITY_WORD[n.managerStatus?.reachability ?? 0] ?? 'unknown';
    changed(attributes, 'reachability', reach(previous), reach(node));
  }
  return attributes;
}

/** `updating`, `completed`, `rollback_started`…: SwarmKit's UpdateState names, as Docker writes them. */
function updateStateWord(s: UpdateState): string {
  return updateStateToJSON(s)
    .replace(/^UPDATE_STATE_/, '')
    .toLowerCase();
}

function serviceAttributes(service: Service, previous: Service | undefined): Record<string, string> {
  const attributes: Record<string, string> = { name: service.spec?.annotations?.name ?? '' };
  if (!previous) return attributes;
  const image = (s: Service) => s.spec?.taskTemplate?.container?.image ?? '';
  changed(attributes, 'image', image(previous), image(service));
  const replicas = service.spec?.replicated?.replicas;
  const previousReplicas = previous.spec?.replicated?.replicas;
  if (replicas !== undefined && previousReplicas !== undefined)
    changed(attributes, 'replicas', String(previousReplicas), String(replicas));
  const state = service.updateStatus?.state;
  if (state !== undefined) {
    const before = previous.updateStatus?.state;
    if (before === undefined) attributes['updatestate.new'] = updateStateWord(state);
    else changed(attributes, 'updatestate', updateStateWord(before), updateStateWord(state));
  }
  return attributes;
}

/**
 * The event dockerd would log for one committed change of the store, or undefined for kinds it
 * makes none of. The time is the change's proposer's (the same on every manager), where dockerd
 * takes the object's CreatedAt / UpdatedAt, and its own clock for a removal.
 */
export function swarmEventOf(change: ChangeEvent): SwarmEvent | undefined {
  const base = { action: change.action, id: change.object.id, timeNano: BigInt(change.timestampMs) * NS_PER_MS };
  const updated = change.action === 'update';
  switch (change.kind) {
    case 'node': {
      const previous = updated ? (change.previous as Node | undefined) : undefined;
      return { ...base, type: 'node', attributes: nodeAttributes(change.object as Node, previous) };
    }
    case 'service': {
      const previous = updated ? (change.previous as Service | undefined) : undefined;
      return { ...base, type: 'service', attributes: serviceAttributes(change.object as Service, previous) };
    }
    case 'network':
      return {
        ...base,
        type: 'network',
        attributes: { name: (change.object as Network).spec?.annotations?.name ?? '' },
      };
    default:
      return undefined;
  }
}
