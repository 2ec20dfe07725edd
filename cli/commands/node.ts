import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { TswarmError } from '../../lib/errors.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type {
  DockerInfo,
  DockerNode,
  DockerNodeSpec,
  DockerService,
  DockerTask,
  NodeAvailabilityName,
  NodeRoleName,
} from '../../lib/api-client/swarm-types.js';
import { eachRef } from './each-ref.js';
import { inspectEach } from './inspect-each.js';
import { AVAILABILITIES } from './swarm.js';

/** Docker's lower-case words as `docker node ls` prints them: ready → Ready. */
const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

export function managerStatusText(n: DockerNode): string {
  if (!n.ManagerStatus) return '';
  if (n.ManagerStatus.Leader) return 'Leader';
  return n.ManagerStatus.Reachability === 'reachable' ? 'Reachable' : 'Unreachable';
}

/**
 * `--filter role=manager --filter name=m1 --filter id=abc --filter node.label=zone=a` → Docker's
 * `filters` (terms with the same key are alternatives). Checked here, in the flag's words.
 */
export function parseNodeFilters(filters: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of filters) {
    const [key = '', ...rest] = f.split('=');
    const value = rest.join('=');
    if (!value)
      throw new TswarmError('USAGE', `invalid filter "${f}". Use KEY=VALUE with role, name, id or node.label`);
    if (key !== 'role' && key !== 'name' && key !== 'id' && key !== 'node.label')
      throw new TswarmError('USAGE', `unknown filter "${key}". Use role, name, id or node.label`);
    if (key === 'role' && value !== 'manager' && value !== 'worker')
      throw new TswarmError('USAGE', `invalid role filter "${value}". Use manager or worker`);
    (out[key] ??= []).push(value);
  }
  return out;
}

/** A node as `node ls --format json` prints it (tswarm's row, not Docker's object: scripts read these names). */
export function nodeRow(n: DockerNode) {
  const d = n.Description;
  return {
    id: n.ID,
    hostname: d.Hostname,
    status: capitalized(n.Status.State),
    statusMessage: n.Status.Message ?? '',
    availability: capitalized(n.Spec.Availability),
    // The role it has now: a manager has a manager status; Spec.Role is the one asked for.
    role: n.ManagerStatus ? 'manager' : 'worker',
    managerStatus: managerStatusText(n),
    managerAddr: n.ManagerStatus?.Addr ?? '',
    labels: n.Spec.Labels,
    engineVersion: d.Engine.EngineVersion,
    platform: { os: d.Platform.OS, architecture: d.Platform.Architecture },
    resources: { nanoCpus: d.Resources.NanoCPUs, memoryBytes: d.Resources.MemoryBytes },
    version: n.Version.Index,
    createdAtMs: Date.parse(n.CreatedAt),
    updatedAtMs: Date.parse(n.UpdatedAt),
  };
}

/** Cluster calls: on a manager that lost its leader, they fail at the daemon's deadline, within this one. */
const cluster = { timeoutMs: CLUSTER_CALL_DEADLINE_MS };

function getNode(api: ApiClient, ref: string): Promise<DockerNode> {
  return api.json<DockerNode>('GET', `/nodes/${encodeURIComponent(ref)}`, cluster);
}

/** Attempts at an update whose node changed underneath only in what the node itself reports. */
const UPDATE_ATTEMPTS_MAX = 5;

/**
 * Reads the node, changes its spec, writes it back at the version read: a change made between is
 * not lost. The node's version also moves when its own heartbeat records a new description or
 * status; when the spec it read is unchanged on a fresh read, the change is applied to that
 * read again (a bounded number of times). Another operator's change to the spec stays a conflict.
 */
export async function updateNodeSpec(
  api: ApiClient,
  ref: string,
  change: (spec: DockerNodeSpec) => void,
): Promise<DockerNode> {
  let node = await getNode(api, ref);
  for (let attempt = 1; ; attempt++) {
    const spec: DockerNodeSpec = { ...node.Spec, Labels: { ...node.Spec.Labels } };
    change(spec);
    try {
      await api.json('POST', `/nodes/${node.ID}/update`, {
        ...cluster,
        query: { version: node.Version.Index },
        json: spec,
      });
      return node;
    } catch (err) {
      if (!(err instanceof TswarmError && err.code === 'CONFLICT') || attempt >= UPDATE_ATTEMPTS_MAX) throw err;
      const fresh = await getNode(api, node.ID);
      if (JSON.stringify(fresh.Spec) !== JSON.stringify(node.Spec)) throw err;
      node = fresh;
    }
  }
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
      const filters = parseNodeFilters(f.filter);
      const c = ctx();
      const api = c.api();
      const query = Object.keys(filters).length > 0 ? { filters: JSON.stringify(filters) } : {};
      const table = !f.quiet && format === 'table';
      // The table stars this node, whose ID /info gives: asked for at the same time.
      const [nodes, info] = await Promise.all([
        api.json<DockerNode[]>('GET', '/nodes', { ...cluster, query }),
        table ? api.json<DockerInfo>('GET', '/info') : undefined,
      ]);
      if (f.quiet) return c.out(nodes.map((n) => n.ID + '\n').join(''));
      if (format === 'json') return c.out(formatJson(nodes.map(nodeRow)));
      const self = info?.Swarm.NodeID;
      const rows = nodes.map((n) => {
        const j = nodeRow(n);
        return [
          `${n.ID}${n.ID === self ? ' *' : ''}`,
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
    .command('ps')
    .description('List the tasks on nodes (this node by default), as `docker node ps`')
    .argument('[node...]', 'node IDs, ID prefixes or hostnames; "self" is this node', ['self'])
    .option('-q, --quiet', 'print only task IDs')
    .option('--no-trunc', 'full IDs, images with their digest, whole errors')
    .option('--format <format>', 'output format: table, json, or a Go template over .ID, .Name, .Node, …')
    .action(async (refs: string[], f: { quiet?: boolean; format?: string; trunc: boolean }) => {
      const c = ctx();
      await nodePs(c, refs, f);
    });

  node
    .command('inspect')
    .description('Show nodes in detail, as Docker’s JSON')
    .argument('<node...>', 'node IDs, ID prefixes or hostnames')
    .action(async (refs: string[]) => {
      const c = ctx();
      const api = c.api();
      await inspectEach(
        refs,
        (r) => getNode(api, r),
        (found) => c.out(formatJson(found)),
      );
    });

  const roleChange = (verb: 'promote' | 'demote', role: NodeRoleName) =>
    node
      .command(verb)
      .description(
        verb === 'promote' ? 'Make workers managers' : 'Make managers workers (refused if it would lose quorum)',
      )
      .argument('<node...>', 'node IDs, ID prefixes or hostnames')
      .action(async (refs: string[]) => {
        const c = ctx();
        const api = c.api();
        for (const r of refs) {
          const n = await updateNodeSpec(api, r, (spec) => (spec.Role = role));
          c.out(
            `Node ${n.Description.Hostname || n.ID} ${verb}d ${verb === 'promote' ? 'to a manager' : 'to a worker'} in the swarm.\n`,
          );
        }
      });
  roleChange('promote', 'manager');
  roleChange('demote', 'worker');

  node
    .command('rm')
    .description('Remove nodes from the swarm (down nodes, or --force)')
    .option('-f, --force', 'remove a node that is not down')
    .argument('<node...>', 'node IDs, ID prefixes or hostnames')
    .action(async (refs: string[], f: { force?: boolean }) => {
      const c = ctx();
      const api = c.api();
      const force = f.force ?? false;
      await eachRef(
        refs,
        'nodes',
        async (r) =>
          void (await api.json('DELETE', `/nodes/${encodeURIComponent(r)}`, { ...cluster, query: { force } })),
        (t) => c.out(t),
      );
    });

  node
    .command('update')
    .description('Change a node’s availability or labels')
    .option('--availability <state>', 'active, pause or drain')
    .option('--label-add <key=value>', 'add or change a label (repeatable)', collect, [])
    .option('--label-rm <key>', 'remove a label (repeatable)', collect, [])
    .argument('<node>', 'node ID, ID prefix or hostname')
    .action(async (ref: string, f: { availability?: string; labelAdd: string[]; labelRm: string[] }) => {
      const availability = f.availability as NodeAvailabilityName | undefined;
      if (availability !== undefined && !AVAILABILITIES.includes(availability))
        throw new TswarmError('USAGE', `invalid --availability "${f.availability}". Use active, pause or drain`);
      if (availability === undefined && f.labelAdd.length === 0 && f.labelRm.length === 0)
        throw new TswarmError('USAGE', 'nothing to update. Give --availability, --label-add or --label-rm');
      const c = ctx();
      const n = await updateNodeSpec(c.api(), ref, (spec) => {
        if (availability) spec.Availability = availability;
        for (const kv of f.labelAdd) {
          const [k, ...v] = kv.split('=');
          if (!k) throw new TswarmError('USAGE', `invalid --label-add "${kv}". Use KEY=VALUE`);
          spec.Labels[k] = v.join('=');
        }
        for (const k of f.labelRm) delete spec.Labels[k];
      });
      c.out(`${n.Description.Hostname || n.ID}\n`);
    });
}

/** `node ps`: the nodes' tasks, grouped by service, in `service ps`'s columns. */
async function nodePs(
  c: CliContext,
  refs: readonly string[],
  f: { quiet?: boolean; format?: string; trunc: boolean },
): Promise<void> {
  const { psRows, PS_HEADERS } = await import('./service.js');
  const { formatWithTemplate, parseListFormat } = await import('../go-template.js');
  const format = parseListFormat(f.format);
  const api = c.api();
  const ids = await Promise.all(
    refs.map(async (r) =>
      r === 'self' ? (await api.json<DockerInfo>('GET', '/info')).Swarm.NodeID : (await getNode(api, r)).ID,
    ),
  );
  const filters = JSON.stringify({ node: ids });
  const [tasks, services, nodes] = await Promise.all([
    api.json<DockerTask[]>('GET', '/tasks', { ...cluster, query: { filters } }),
    api.json<DockerService[]>('GET', '/services', cluster),
    api.json<DockerNode[]>('GET', '/nodes', cluster),
  ]);
  if (f.quiet) return c.out(tasks.map((t) => t.ID + '\n').join(''));
  if (format.kind === 'json') return c.out(formatJson(tasks));
  const hostnames = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
  const byService = new Map<string, DockerTask[]>();
  for (const t of tasks) byService.set(t.ServiceID, [...(byService.get(t.ServiceID) ?? []), t]);
  const rows = services.filter((s) => byService.has(s.ID)).flatMap((s) => psRows(s, byService.get(s.ID)!, hostnames));
  if (format.kind === 'template') return c.out(formatWithTemplate(format, rows, PS_HEADERS));
  c.out(
    formatTable(
      Object.values(PS_HEADERS),
      rows.map((r) => Object.values(r)),
    ),
  );
}
