import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { TswarmError } from '../../lib/errors.js';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  type Node,
  type NodeSpec,
} from '../../gen/lite/tswarm/v1/objects.js';
import type { ListNodesRequest } from '../../gen/lite/tswarm/v1/control.js';
import { AVAILABILITY } from './swarm.js';

const STATE: Partial<Record<NodeState, string>> = {
  [NodeState.NODE_STATE_UNKNOWN]: 'Unknown',
  [NodeState.NODE_STATE_DOWN]: 'Down',
  [NodeState.NODE_STATE_READY]: 'Ready',
  [NodeState.NODE_STATE_DISCONNECTED]: 'Disconnected',
};
const AVAIL: Partial<Record<NodeAvailability, string>> = {
  [NodeAvailability.NODE_AVAILABILITY_ACTIVE]: 'Active',
  [NodeAvailability.NODE_AVAILABILITY_PAUSE]: 'Pause',
  [NodeAvailability.NODE_AVAILABILITY_DRAIN]: 'Drain',
};

export function managerStatusText(n: Node): string {
  if (!n.managerStatus) return '';
  if (n.managerStatus.leader) return 'Leader';
  return n.managerStatus.reachability === Reachability.REACHABILITY_REACHABLE ? 'Reachable' : 'Unreachable';
}

/** `--filter role=manager --filter name=m1 --filter id=abc` → the request's filters. */
export function parseNodeFilters(filters: readonly string[]): ListNodesRequest {
  const req: ListNodesRequest = { names: [], idPrefixes: [], roles: [], labels: {} };
  for (const f of filters) {
    const [key, ...rest] = f.split('=');
    const value = rest.join('=');
    if (!value)
      throw new TswarmError('USAGE', `invalid filter "${f}". Use KEY=VALUE with role, name, id or node.label`);
    if (key === 'role') {
      if (value !== 'manager' && value !== 'worker')
        throw new TswarmError('USAGE', `invalid role filter "${value}". Use manager or worker`);
      req.roles.push(value === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER);
    } else if (key === 'name') req.names.push(value);
    else if (key === 'id') req.idPrefixes.push(value);
    else if (key === 'node.label') {
      const [k, v] = value.split('=');
      req.labels[k!] = v ?? '';
    } else throw new TswarmError('USAGE', `unknown filter "${key}". Use role, name, id or node.label`);
  }
  return req;
}

function nodeJson(n: Node) {
  return {
    id: n.id,
    hostname: n.description?.hostname ?? '',
    status: STATE[n.status?.state ?? NodeState.NODE_STATE_UNKNOWN] ?? 'Unknown',
    statusMessage: n.status?.message ?? '',
    availability: AVAIL[n.spec?.availability ?? NodeAvailability.NODE_AVAILABILITY_ACTIVE] ?? '',
    role: n.role === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker',
    managerStatus: managerStatusText(n),
    managerAddr: n.managerStatus?.addr ?? '',
    labels: n.spec?.annotations?.labels ?? {},
    engineVersion: n.description?.engineVersion ?? '',
    platform: n.description?.platform,
    resources: n.description?.resources,
    version: n.meta?.version ?? 0,
    createdAtMs: n.meta?.createdAtMs ?? 0,
    updatedAtMs: n.meta?.updatedAtMs ?? 0,
  };
}

async function getNode(c: CliContext, ref: string): Promise<Node> {
  const d = await c.daemon();
  return (await d.cluster.getNode({ nodeId: ref })).node!;
}

async function update(c: CliContext, ref: string, change: (spec: NodeSpec) => void): Promise<Node> {
  const node = await getNode(c, ref);
  const spec: NodeSpec = {
    annotations: { name: node.spec?.annotations?.name ?? '', labels: { ...(node.spec?.annotations?.labels ?? {}) } },
    desiredRole: node.spec!.desiredRole,
    availability: node.spec!.availability,
  };
  change(spec);
  const d = await c.daemon();
  return (await d.cluster.updateNode({ nodeId: node.id, nodeVersion: node.meta?.version ?? 0, spec })).node!;
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function registerNode(program: Command, ctx: () => CliContext): void {
  const node = program.command('node').description('Manage the swarm’s nodes (on a manager)');

  node
    .command('ls')
    .description('List the nodes; * marks this one')
    .option('-f, --filter <key=value>', 'filter by role, name, id or node.label (repeatable)', collect, [])
    .option('-q, --quiet', 'print only IDs')
    .option('--format <format>', 'output format: table or json')
    .action(async (f: { filter: string[]; quiet?: boolean; format?: string }) => {
      const format = parseFormat(f.format);
      const c = ctx();
      const d = await c.daemon();
      const req = parseNodeFilters(f.filter);
      const [{ nodes }, info] = await Promise.all([d.cluster.listNodes(req), d.info()]);
      if (f.quiet) return c.out(nodes.map((n) => n.id + '\n').join(''));
      if (format === 'json') return c.out(formatJson(nodes.map(nodeJson)));
      const self = info.swarm?.nodeId;
      const rows = nodes.map((n) => {
        const j = nodeJson(n);
        return [
          `${n.id}${n.id === self ? ' *' : ''}`,
          j.hostname,
          j.status,
          j.availability,
          j.managerStatus,
          j.engineVersion,
        ];
      });
      c.out(formatTable(['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'], rows));
    });

  node
    .command('inspect')
    .description('Show a node in detail (JSON)')
    .argument('<node...>', 'node IDs, ID prefixes or hostnames')
    .action(async (refs: string[]) => {
      const c = ctx();
      const nodes = [];
      for (const r of refs) nodes.push(nodeJson(await getNode(c, r)));
      c.out(formatJson(nodes));
    });

  const roleChange = (verb: 'promote' | 'demote', role: NodeRole) =>
    node
      .command(verb)
      .description(
        verb === 'promote' ? 'Make workers managers' : 'Make managers workers (refused if it would lose quorum)',
      )
      .argument('<node...>', 'node IDs, ID prefixes or hostnames')
      .action(async (refs: string[]) => {
        const c = ctx();
        for (const r of refs) {
          const n = await update(c, r, (spec) => (spec.desiredRole = role));
          c.out(
            `Node ${n.description?.hostname || n.id} ${verb}d ${verb === 'promote' ? 'to a manager' : 'to a worker'} in the swarm.\n`,
          );
        }
      });
  roleChange('promote', NodeRole.NODE_ROLE_MANAGER);
  roleChange('demote', NodeRole.NODE_ROLE_WORKER);

  node
    .command('rm')
    .description('Remove nodes from the swarm (down nodes, or --force)')
    .option('-f, --force', 'remove a node that is not down')
    .argument('<node...>', 'node IDs, ID prefixes or hostnames')
    .action(async (refs: string[], f: { force?: boolean }) => {
      const c = ctx();
      const d = await c.daemon();
      for (const r of refs) {
        await d.cluster.removeNode({ nodeId: r, force: f.force ?? false });
        c.out(`${r}\n`);
      }
    });

  node
    .command('update')
    .description('Change a node’s availability or labels')
    .option('--availability <state>', 'active, pause or drain')
    .option('--label-add <key=value>', 'add or change a label (repeatable)', collect, [])
    .option('--label-rm <key>', 'remove a label (repeatable)', collect, [])
    .argument('<node>', 'node ID, ID prefix or hostname')
    .action(async (ref: string, f: { availability?: string; labelAdd: string[]; labelRm: string[] }) => {
      if (f.availability !== undefined && !(f.availability in AVAILABILITY))
        throw new TswarmError('USAGE', `invalid --availability "${f.availability}". Use active, pause or drain`);
      if (f.availability === undefined && f.labelAdd.length === 0 && f.labelRm.length === 0)
        throw new TswarmError('USAGE', 'nothing to update. Give --availability, --label-add or --label-rm');
      const c = ctx();
      const n = await update(c, ref, (spec) => {
        if (f.availability) spec.availability = AVAILABILITY[f.availability]!;
        for (const kv of f.labelAdd) {
          const [k, ...v] = kv.split('=');
          if (!k) throw new TswarmError('USAGE', `invalid --label-add "${kv}". Use KEY=VALUE`);
          spec.annotations!.labels[k] = v.join('=');
        }
        for (const k of f.labelRm) delete spec.annotations!.labels[k];
      });
      c.out(`${n.description?.hostname || n.id}\n`);
    });
}
