import { TswarmError } from '../../lib/errors.js';
import { gatewayOf, parseSubnet } from '../../engine/network/ipam.js';
import { DEFAULT_SUBNET } from '../../engine/network/node-networking.js';
import { BUILTIN_NETWORKS, networkId } from '../../engine/network/network-id.js';
import { globMatch, matchesLabels, parseFilters, type Filters } from './list-filters.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { isoTime } from './swarm-shapes.js';

const BUILTIN = BUILTIN_NETWORKS;

const NETWORK_LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

export { networkId };

function bridgeIpam(): Record<string, unknown> {
  const subnet = parseSubnet(DEFAULT_SUBNET);
  return { Driver: 'default', Options: null, Config: [{ Subnet: subnet.cidr, Gateway: gatewayOf(subnet) }] };
}

/** Docker's `NetworkResource` of a built-in network; `containers` as inspect shows them. */
export function dockerNetwork(
  name: string,
  driver: string,
  createdMs: number,
  containers: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    Name: name,
    Id: networkId(name),
    Created: isoTime(createdMs),
    Scope: 'local',
    Driver: driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: name === 'bridge' ? bridgeIpam() : { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: {},
  };
}

/** Finds a built-in network by name, full ID or ID prefix (as `docker network inspect` takes). */
export function findNetwork(ref: string): { name: string; driver: string } {
  const byName = BUILTIN.find((n) => n.name === ref);
  if (byName) return byName;
  const byId = ref.length > 0 ? BUILTIN.filter((n) => networkId(n.name).startsWith(ref)) : [];
  if (byId.length === 1) return byId[0]!;
  throw new TswarmError(
    'NOT_FOUND',
    `network ${ref} not found. This node has the networks bridge, host and none ("docker network ls")`,
  );
}

/** The list filters: all built-ins are `builtin`, `local` and unlabeled. */
export function networkMatches(n: { name: string; driver: string }, filters: Filters): boolean {
  const any = (key: string, test: (v: string) => boolean) => {
    const values = filters.get(key);
    return !values || values.length === 0 || values.some(test);
  };
  return (
    any('driver', (v) => v === n.driver) &&
    any('id', (v) => networkId(n.name).startsWith(v)) &&
    any('name', (v) => n.name.includes(v) || globMatch(v, n.name)) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => v === 'builtin') &&
    // Predefined networks are never dangling (dockerd never prunes them).
    any('dangling', (v) => v === 'false' || v === '0') &&
    matchesLabels({}, filters.get('label'))
  );
}

/** The running containers on the bridge, by ID, in Docker's `EndpointResource` shape (addresses not exposed). */
function bridgeContainers(ctx: ApiContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of ctx.engine.containerList({ all: false })) {
    let mode = '';
    try {
      mode = ctx.engine.containerInspect(c.id).config?.networkMode ?? '';
    } catch {
      continue; // removed meanwhile
    }
    if (mode !== 'bridge' && mode !== '') continue;
    out[c.id] = { Name: c.name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
  }
  return out;
}

/** The node-local networks (bridge, host, none) in Docker's shapes; user-defined ones come with services. */
export function networkRoutes(ctx: ApiContext): Route[] {
  const unsupported = (what: string) => async () => {
    throw new TswarmError(
      'UNIMPLEMENTED',
      `network ${what} is not supported yet: overlay networks come with services. Use the bridge, host or none network`,
    );
  };
  return [
    {
      method: 'GET',
      path: '/networks',
      handler: async (req, reply) => {
        const filters = parseFilters(req.query.get('filters'), NETWORK_LIST_FILTERS);
        const list = BUILTIN.filter((n) => networkMatches(n, filters));
        reply.json(
          200,
          list.map((n) => dockerNetwork(n.name, n.driver, ctx.startedAtMs)),
        );
      },
    },
    { method: 'POST', path: '/networks/create', handler: unsupported('create') },
    {
      method: 'POST',
      path: '/networks/prune',
      handler: async (_req, reply) => reply.json(200, { NetworksDeleted: [] }),
    },
    {
      method: 'GET',
      path: '/networks/{id}',
      handler: async (req, reply) => {
        const n = findNetwork(req.params['id'] ?? '');
        const containers = n.name === 'bridge' ? bridgeContainers(ctx) : {};
        reply.json(200, dockerNetwork(n.name, n.driver, ctx.startedAtMs, containers));
      },
    },
    {
      method: 'DELETE',
      path: '/networks/{id}',
      handler: async (req) => {
        const n = findNetwork(req.params['id'] ?? '');
        throw new TswarmError('PERMISSION_DENIED', `${n.name} is a pre-defined network and cannot be removed`);
      },
    },
    { method: 'POST', path: '/networks/{id}/connect', handler: unsupported('connect') },
    { method: 'POST', path: '/networks/{id}/disconnect', handler: unsupported('disconnect') },
  ];
}
