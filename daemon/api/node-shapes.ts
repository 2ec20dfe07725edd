import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  type Node,
  type NodeSpec,
} from '../../gen/tswarm/v1/objects.js';
import type { ListNodesRequest } from '../../gen/tswarm/v1/control.js';
import { TswarmError } from '../../lib/errors.js';
import { field, stringMap, type JsonObject } from './body.js';
import { availabilityFromDocker } from './swarm-spec.js';
import { matchesLabels } from './list-filters.js';
import { isoTime } from './swarm-shapes.js';
import type { DockerTlsInfo } from './tls-info.js';

/** Docker's words for a node's state, availability and reachability (also its events' attributes). */
export const NODE_STATE_WORD: Record<number, string> = {
  [NodeState.NODE_STATE_UNKNOWN]: 'unknown',
  [NodeState.NODE_STATE_DOWN]: 'down',
  [NodeState.NODE_STATE_READY]: 'ready',
  [NodeState.NODE_STATE_DISCONNECTED]: 'disconnected',
};
export const AVAILABILITY_WORD: Record<number, string> = {
  [NodeAvailability.NODE_AVAILABILITY_ACTIVE]: 'active',
  [NodeAvailability.NODE_AVAILABILITY_PAUSE]: 'pause',
  [NodeAvailability.NODE_AVAILABILITY_DRAIN]: 'drain',
};
export const REACHABILITY_WORD: Record<number, string> = {
  [Reachability.REACHABILITY_UNKNOWN]: 'unknown',
  [Reachability.REACHABILITY_UNREACHABLE]: 'unreachable',
  [Reachability.REACHABILITY_REACHABLE]: 'reachable',
};

export function roleWord(role: NodeRole | undefined): string {
  return role === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
}

/** The host part of "HOST:PORT". */
function hostOf(addr: string): string {
  const i = addr.lastIndexOf(':');
  return i < 0 ? addr : addr.slice(0, i);
}

/** Docker's `Node` from tswarm's; `tlsInfo` from daemon/api/tls-info.ts (nodeTlsInfo). */
export function dockerNode(n: Node, tlsInfo: DockerTlsInfo): Record<string, unknown> {
  const d = n.description;
  const managerAddr = n.managerStatus?.addr ?? '';
  return {
    ID: n.id,
    Version: { Index: n.meta?.version ?? 0 },
    CreatedAt: isoTime(n.meta?.createdAtMs),
    UpdatedAt: isoTime(n.meta?.updatedAtMs),
    Spec: {
      ...(n.spec?.annotations?.name ? { Name: n.spec.annotations.name } : {}),
      Labels: n.spec?.annotations?.labels ?? {},
      Role: roleWord(n.spec?.desiredRole),
      Availability: AVAILABILITY_WORD[n.spec?.availability ?? 0] ?? 'active',
    },
    Description: {
      Hostname: d?.hostname ?? '',
      Platform: { Architecture: d?.platform?.architecture ?? '', OS: d?.platform?.os ?? '' },
      Resources: { NanoCPUs: d?.resources?.nanoCpus ?? 0, MemoryBytes: d?.resources?.memoryBytes ?? 0 },
      Engine: {
        EngineVersion: d?.engineVersion ?? '',
        Labels: d?.engineLabels ?? {},
        // As /info lists them: the engine has the same drivers on every node.
        Plugins: [
          { Type: 'Volume', Name: 'local' },
          { Type: 'Network', Name: 'bridge' },
          { Type: 'Network', Name: 'host' },
          { Type: 'Network', Name: 'null' },
        ],
      },
      TLSInfo: tlsInfo,
    },
    Status: {
      State: NODE_STATE_WORD[n.status?.state ?? 0] ?? 'unknown',
      ...(n.status?.message ? { Message: n.status.message } : {}),
      // The node's address: as the managers saw it, or the one a manager advertises.
      Addr: n.status?.addr || hostOf(managerAddr),
    },
    ...(n.managerStatus
      ? {
          ManagerStatus: {
            Leader: n.managerStatus.leader,
            Reachability: REACHABILITY_WORD[n.managerStatus.reachability] ?? 'unknown',
            Addr: managerAddr,
          },
        }
      : {}),
  };
}

/** `POST /nodes/{id}/update`'s body (Docker's `NodeSpec`, all of it) as tswarm's node spec. */
export function nodeSpecFromDocker(body: JsonObject): NodeSpec {
  const role = field(body, 'Role', 'string') ?? '';
  if (role !== 'manager' && role !== 'worker')
    throw new TswarmError('INVALID_ARGUMENT', `invalid Role: "${role}". Use manager or worker`);
  const availability = availabilityFromDocker(field(body, 'Availability', 'string'), 'Availability');
  if (availability === NodeAvailability.NODE_AVAILABILITY_UNSPECIFIED)
    throw new TswarmError('INVALID_ARGUMENT', 'invalid Availability: "". Use active, pause or drain');
  return {
    annotations: { name: field(body, 'Name', 'string') ?? '', labels: stringMap(body, 'Labels') ?? {} },
    desiredRole: role === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER,
    availability,
  };
}

export const NODE_FILTERS = ['id', 'name', 'role', 'membership', 'node.label', 'label'] as const;

/** What the control API filters (ID prefixes, hostnames, roles), and a check for the rest. */
export function nodeFilters(filters: Map<string, string[]>): {
  request: ListNodesRequest;
  matches: (n: Node) => boolean;
} {
  const roles = (filters.get('role') ?? []).map((r) => {
    if (r !== 'manager' && r !== 'worker')
      throw new TswarmError('INVALID_ARGUMENT', `Invalid role filter value ${r}, must be manager or worker`);
    return r === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER;
  });
  const membership = filters.get('membership') ?? [];
  for (const m of membership)
    if (m !== 'accepted' && m !== 'pending')
      throw new TswarmError('INVALID_ARGUMENT', `Invalid membership filter value ${m}, must be accepted or pending`);
  const nodeLabels = filters.get('node.label') ?? [];
  const engineLabels = filters.get('label') ?? [];
  return {
    request: { names: filters.get('name') ?? [], idPrefixes: filters.get('id') ?? [], roles, labels: {} },
    matches: (n) =>
      // Every node in the store was accepted: tswarm admits nodes by token, with no pending state.
      (membership.length === 0 || membership.includes('accepted')) &&
      matchesLabels(n.spec?.annotations?.labels ?? {}, nodeLabels) &&
      matchesLabels(n.description?.engineLabels ?? {}, engineLabels),
  };
}
