import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { TswarmError } from '../../lib/errors.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { DockerNode, DockerService, DockerServiceSpec, DockerTask } from '../../lib/api-client/swarm-types.js';
import { collect, parseEnv, parseLabel, parseNanoCpus, parseNonNegativeInt, parseSizeBytes } from './engine-flags.js';
import { ago } from './engine-format.js';
import { eachRef } from './each-ref.js';
import { inspectEach } from './inspect-each.js';
import { stderr } from './container-api.js';
import {
  imageForDisplay,
  prepareServiceImage,
  withServiceImageOptions,
  type ServiceImageFlags,
} from './service-image.js';

/**
 * `tswarm service …`, as `docker service …` reads: every call is the Engine API (`/services`,
 * `/tasks`), so the real docker CLI and this one see the same services.
 */

const cluster = { timeoutMs: CLUSTER_CALL_DEADLINE_MS };
/** How long `create` and `scale` show progress before giving the terminal back (the service keeps converging). */
export const CONVERGE_WAIT_MS = 60_000;
const PROGRESS_POLL_MS = 500;

export interface ServiceCreateFlags {
  name?: string;
  replicas?: number;
  constraint: string[];
  placementPref: string[];
  reserveCpu?: number;
  reserveMemory?: number;
  limitCpu?: number;
  limitMemory?: number;
  replicasMaxPerNode?: number;
  env: (string | undefined)[];
  label: [string, string][];
  containerLabel: [string, string][];
}

/** `--placement-pref spread=node.labels.zone`: the only preference Docker has. */
export function parsePlacementPref(value: string): string {
  const m = /^spread=(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`invalid --placement-pref "${value}". Use spread=node.labels.<label>`);
  return m[1]!;
}

/** The flags and arguments of `service create` as Docker's ServiceSpec (what `docker service create` sends). */
export function serviceSpecFromFlags(image: string, args: readonly string[], f: ServiceCreateFlags): DockerServiceSpec {
  const resources = (cpu: number | undefined, memory: number | undefined) =>
    cpu === undefined && memory === undefined
      ? undefined
      : { ...(cpu !== undefined ? { NanoCPUs: cpu } : {}), ...(memory !== undefined ? { MemoryBytes: memory } : {}) };
  const limits = resources(f.limitCpu, f.limitMemory);
  const reservations = resources(f.reserveCpu, f.reserveMemory);
  const env = f.env.filter((e): e is string => e !== undefined);
  return {
    ...(f.name ? { Name: f.name } : {}),
    Labels: Object.fromEntries(f.label),
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(args.length ? { Args: [...args] } : {}),
        ...(env.length ? { Env: env } : {}),
        ...(f.containerLabel.length ? { Labels: Object.fromEntries(f.containerLabel) } : {}),
      },
      ...(limits || reservations
        ? {
            Resources: {
              ...(limits ? { Limits: limits } : {}),
              ...(reservations ? { Reservations: reservations } : {}),
            },
          }
        : {}),
      Placement: {
        ...(f.constraint.length ? { Constraints: f.constraint } : {}),
        ...(f.placementPref.length
          ? { Preferences: f.placementPref.map((d) => ({ Spread: { SpreadDescriptor: d } })) }
          : {}),
        ...(f.replicasMaxPerNode ? { MaxReplicas: f.replicasMaxPerNode } : {}),
      },
    },
    Mode: { Replicated: { Replicas: f.replicas ?? 1 } },
  };
}

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const shortId = (id: string) => id.slice(0, 12);

/** `service ls`'s REPLICAS: running/desired, as `docker service ls`. */
export function replicasText(s: DockerService): string {
  const desired = s.Spec.Mode?.Replicated?.Replicas ?? 0;
  return `${s.ServiceStatus?.RunningTasks ?? 0}/${s.ServiceStatus?.DesiredTasks ?? desired}`;
}

/** A task's line of progress: what it is doing now, and why it waits, in the scheduler's words. */
function taskProgress(t: DockerTask | undefined): string {
  if (!t) return 'no task yet';
  const reason = t.Status.Err ? `: ${t.Status.Err}` : '';
  return `${t.Status.State}${reason}`;
}

/**
 * What `create` and `scale` show while the service converges, as docker does ("overall progress:
 * 2 out of 3 tasks", a line per slot, "verify: Service converged"). Honest about each slot: a
 * task assigned to a node but not yet running says "assigned"; one that fits nowhere says why.
 */
export function progressLines(desired: number, tasks: readonly DockerTask[]): { lines: string[]; converged: boolean } {
  const bySlot = new Map<number, DockerTask>();
  for (const t of tasks) {
    const slot = t.Slot ?? 0;
    const seen = bySlot.get(slot);
    if (!seen || Date.parse(t.CreatedAt) > Date.parse(seen.CreatedAt)) bySlot.set(slot, t);
  }
  const running = [...bySlot.values()].filter((t) => t.Status.State === 'running').length;
  const lines = [`overall progress: ${running} out of ${desired} tasks`];
  for (let slot = 1; slot <= desired; slot++) lines.push(`${slot}/${desired}: ${taskProgress(bySlot.get(slot))}`);
  const converged = running === desired && bySlot.size === desired;
  if (converged) lines.push('verify: Service converged');
  return { lines, converged };
}

async function getService(api: ApiClient, ref: string): Promise<DockerService> {
  return api.json<DockerService>('GET', `/services/${encodeURIComponent(ref)}`, cluster);
}

async function serviceTasks(api: ApiClient, serviceId: string, desiredRunning: boolean): Promise<DockerTask[]> {
  const filters: Record<string, string[]> = { service: [serviceId] };
  if (desiredRunning) filters['desired-state'] = ['running'];
  return api.json<DockerTask[]>('GET', '/tasks', { ...cluster, query: { filters: JSON.stringify(filters) } });
}

/**
 * Shows progress until the service's tasks all run, at most `timeoutMs`; a change is printed when
 * it happens, not every poll. Past the deadline the command fails (exit 1) saying where the
 * tasks are; the service stays and keeps converging.
 */
export async function waitConverged(
  api: ApiClient,
  serviceId: string,
  out: (t: string) => void,
  timeoutMs = CONVERGE_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  let last: string[] = [];
  for (;;) {
    const service = await getService(api, serviceId);
    const desired = service.Spec.Mode?.Replicated?.Replicas ?? 0;
    const { lines, converged } = progressLines(desired, await serviceTasks(api, serviceId, true));
    const text = lines.join('\n') + '\n';
    if (text !== shown) out(text);
    shown = text;
    last = lines;
    if (converged) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, PROGRESS_POLL_MS));
  }
  throw new TswarmError(
    'DEADLINE_EXCEEDED',
    `the service did not converge within ${Math.round(timeoutMs / 1000)} s (${last[0] ?? ''}). It keeps converging: watch it with \`tswarm service ps ${shortId(serviceId)}\``,
  );
}

/** `service ps` rows, as docker's: the latest task of each slot first, older ones under it marked `\_`. */
export function psRows(
  service: DockerService,
  tasks: readonly DockerTask[],
  hostnames: ReadonlyMap<string, string>,
  nowMs = Date.now(),
): string[][] {
  const sorted = [...tasks].sort(
    (a, b) => (a.Slot ?? 0) - (b.Slot ?? 0) || Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt),
  );
  let slot = -1;
  return sorted.map((t) => {
    const first = t.Slot !== slot;
    slot = t.Slot ?? 0;
    const name = `${service.Spec.Name ?? service.ID}.${t.Slot ?? 0}`;
    const since = ago(Date.parse(t.Status.Timestamp), nowMs);
    return [
      shortId(t.ID),
      first ? name : ` \\_ ${name}`,
      imageForDisplay(t.Spec.ContainerSpec?.Image ?? ''),
      t.NodeID ? (hostnames.get(t.NodeID) ?? shortId(t.NodeID)) : '',
      capitalized(t.DesiredState),
      `${capitalized(t.Status.State)}${since ? ` ${since}` : ''}`,
      t.Status.Err ?? '',
    ];
  });
}

function parseScale(arg: string): [string, number] {
  const m = /^([^=]+)=(\d+)$/.exec(arg);
  if (!m || !Number.isSafeInteger(Number(m[2])))
    throw new TswarmError('USAGE', `invalid scale specifier "${arg}". Use SERVICE=REPLICAS, e.g. web=5`);
  return [m[1]!, Number(m[2])];
}

/** `service scale` for one service: the spec read, its replicas changed, written at the version read. */
async function scaleService(api: ApiClient, ref: string, replicas: number): Promise<DockerService> {
  const service = await getService(api, ref);
  if (!service.Spec.Mode?.Replicated)
    throw new TswarmError('FAILED_PRECONDITION', `${ref}: scale can only be used with replicated mode`);
  const spec: DockerServiceSpec = { ...service.Spec, Mode: { Replicated: { Replicas: replicas } } };
  await api.json('POST', `/services/${service.ID}/update`, {
    ...cluster,
    query: { version: service.Version.Index },
    json: spec,
  });
  return service;
}

/** Everything `service create` reads: the spec's flags, the image's (service-image.ts), and how to wait. */
type CreateCommandFlags = ServiceCreateFlags & ServiceImageFlags & { detach?: boolean; quiet?: boolean };

export function registerService(program: Command, ctx: () => CliContext): void {
  const service = program.command('service').description('Manage services (on a manager)');
  const nonNegative = (flag: string) => parseNonNegativeInt(flag);

  withServiceImageOptions(service.command('create'))
    .description('Create a service; without --detach, show progress until its tasks run')
    .argument('<image>', 'the image its tasks run')
    .argument('[command...]', 'the command and its arguments')
    .option('--name <name>', 'the service name')
    .option('--replicas <n>', 'number of tasks (default 1)', nonNegative('--replicas'))
    .option('--constraint <expr>', 'placement constraint, e.g. node.role==worker (repeatable)', collect(String), [])
    .option('--placement-pref <pref>', 'spread=node.labels.<label> (repeatable)', collect(parsePlacementPref), [])
    .option('--reserve-cpu <cpus>', 'CPUs reserved per task, e.g. 0.5', parseNanoCpus)
    .option('--reserve-memory <bytes>', 'memory reserved per task, e.g. 64m', parseSizeBytes)
    .option('--limit-cpu <cpus>', 'CPU limit per task', parseNanoCpus)
    .option('--limit-memory <bytes>', 'memory limit per task', parseSizeBytes)
    .option(
      '--replicas-max-per-node <n>',
      'at most this many tasks per node (0: no limit)',
      nonNegative('--replicas-max-per-node'),
    )
    .option(
      '-e, --env <k=v>',
      'environment variable (repeatable)',
      collect((v) => parseEnv(v)),
      [],
    )
    .option('-l, --label <k=v>', 'service label (repeatable)', collect(parseLabel), [])
    .option('--container-label <k=v>', 'container label (repeatable)', collect(parseLabel), [])
    .option('-d, --detach', 'return once the service is created, without waiting for its tasks')
    .option('-q, --quiet', 'print only the service ID')
    .passThroughOptions()
    .action(async (image: string, args: string[], f: CreateCommandFlags) => {
      const c = ctx();
      const api = c.api();
      const given = serviceSpecFromFlags(image, args[0] === '--' ? args.slice(1) : args, f);
      const { spec, headers } = await prepareServiceImage(api, given, f, stderr);
      const created = await api.json<{ ID: string; Warnings?: string[] | null }>('POST', '/services/create', {
        ...cluster,
        json: spec,
        headers,
      });
      for (const w of created.Warnings ?? []) c.out(`${w}\n`);
      c.out(`${created.ID}\n`);
      if (!f.detach && !f.quiet) await waitConverged(api, created.ID, (t) => c.out(t));
    });

  service
    .command('ls')
    .description('List services')
    .option('-f, --filter <key=value>', 'filter by id, name, label or mode (repeatable)', collect(String), [])
    .option('-q, --quiet', 'print only IDs')
    .option('--format <format>', 'output format: table or json')
    .action(async (f: { filter: string[]; quiet?: boolean; format?: string }) => {
      const format = parseFormat(f.format);
      const filters: Record<string, string[]> = {};
      for (const kv of f.filter) {
        const [k = '', ...v] = kv.split('=');
        if (!['id', 'name', 'label', 'mode'].includes(k) || v.length === 0)
          throw new TswarmError('USAGE', `invalid filter "${kv}". Use id=, name=, label= or mode=`);
        (filters[k] ??= []).push(v.join('='));
      }
      const c = ctx();
      const query: Record<string, string | boolean> = { status: true };
      if (Object.keys(filters).length) query.filters = JSON.stringify(filters);
      const services = await c.api().json<DockerService[]>('GET', '/services', { ...cluster, query });
      if (f.quiet) return c.out(services.map((s) => s.ID + '\n').join(''));
      if (format === 'json') return c.out(formatJson(services));
      const rows = services.map((s) => [
        shortId(s.ID),
        s.Spec.Name ?? '',
        s.Spec.Mode?.Global ? 'global' : 'replicated',
        replicasText(s),
        imageForDisplay(s.Spec.TaskTemplate.ContainerSpec.Image),
      ]);
      c.out(formatTable(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE'], rows));
    });

  service
    .command('ps')
    .description('List the tasks of services')
    .argument('<service...>', 'service names, IDs or ID prefixes')
    .option('-q, --quiet', 'print only task IDs')
    .option('--format <format>', 'output format: table or json')
    .action(async (refs: string[], f: { quiet?: boolean; format?: string }) => {
      const format = parseFormat(f.format);
      const c = ctx();
      const api = c.api();
      const [nodes, ...found] = await Promise.all([
        api.json<DockerNode[]>('GET', '/nodes', cluster),
        ...refs.map(async (r) => {
          const s = await getService(api, r);
          return { service: s, tasks: await serviceTasks(api, s.ID, false) };
        }),
      ]);
      const all = found.flatMap((x) => x.tasks);
      if (f.quiet) return c.out(all.map((t) => t.ID + '\n').join(''));
      if (format === 'json') return c.out(formatJson(all));
      const hostnames = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
      const rows = found.flatMap((x) => psRows(x.service, x.tasks, hostnames));
      c.out(formatTable(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'], rows));
    });

  service
    .command('scale')
    .description('Change the number of tasks of services; without --detach, show progress')
    .argument('<service=replicas...>', 'e.g. web=5')
    .option('-d, --detach', 'return once the change is made, without waiting for the tasks')
    .action(async (args: string[], f: { detach?: boolean }) => {
      const wanted = args.map(parseScale);
      const c = ctx();
      const api = c.api();
      const scaled: DockerService[] = [];
      await eachRef(
        wanted.map(([ref, n]) => `${ref}=${n}`),
        'services',
        async (arg) => {
          const [ref, n] = parseScale(arg);
          scaled.push(await scaleService(api, ref, n));
          return `${ref} scaled to ${n}`;
        },
        (t) => c.out(t),
      );
      if (!f.detach) for (const s of scaled) await waitConverged(api, s.ID, (t) => c.out(t));
    });

  service
    .command('inspect')
    .description('Show services in detail, as Docker’s JSON')
    .argument('<service...>', 'service names, IDs or ID prefixes')
    .action(async (refs: string[]) => {
      const c = ctx();
      const api = c.api();
      await inspectEach(
        refs,
        (r) => getService(api, r),
        (found) => c.out(formatJson(found)),
      );
    });

  service
    .command('rm')
    .alias('remove')
    .description('Remove services (their tasks stop and go)')
    .argument('<service...>', 'service names, IDs or ID prefixes')
    .action(async (refs: string[]) => {
      const c = ctx();
      const api = c.api();
      await eachRef(
        refs,
        'services',
        async (r) => void (await api.json('DELETE', `/services/${encodeURIComponent(r)}`, cluster)),
        (t) => c.out(t),
      );
    });
}
