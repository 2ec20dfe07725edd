import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable } from '../output.js';
import { formatWithTemplate, parseListFormat } from '../go-template.js';
import { TswarmError } from '../../lib/errors.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { DockerNode, DockerService, DockerServiceSpec, DockerTask } from '../../lib/api-client/swarm-types.js';
import { collect, parseLabel, parseNanoCpus, parseNonNegativeInt, parseSizeBytes } from './engine-flags.js';
import {
  addServiceTaskOptions,
  containerSpecFromFlags,
  endpointSpecFromFlags,
  restartPolicyFromFlags,
  type ServiceTaskFlags,
} from './service-flags.js';
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
import { registerServiceLogs } from './service-logs.js';
import {
  modeText,
  replicasText,
  serviceModeFromFlags,
  serviceProgress,
  SERVICE_MODES,
  type ServiceModeFlags,
} from './service-mode.js';

export { progressLines, replicasText } from './service-mode.js';

/**
 * `tswarm service …`, as `docker service …` reads: every call is the Engine API (`/services`,
 * `/tasks`), so the real docker CLI and this one see the same services.
 */

const cluster = { timeoutMs: CLUSTER_CALL_DEADLINE_MS };
/** How long `create` and `scale` show progress before giving the terminal back (the service keeps converging). */
export const CONVERGE_WAIT_MS = 60_000;
const PROGRESS_POLL_MS = 500;

export interface ServiceCreateFlags extends ServiceModeFlags {
  name?: string;
  constraint: string[];
  placementPref: string[];
  reserveCpu?: number;
  reserveMemory?: number;
  limitCpu?: number;
  limitMemory?: number;
  replicasMaxPerNode?: number;
  label: [string, string][];
  containerLabel: [string, string][];
}

/** `--placement-pref spread=node.labels.zone`: the only preference Docker has. */
export function parsePlacementPref(value: string): string {
  const m = /^spread=(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`invalid --placement-pref "${value}". Use spread=node.labels.<label>`);
  return m[1]!;
}

/** Limits or reservations, left out when no flag gives one. */
function resources(cpu: number | undefined, memory: number | undefined, pids?: number) {
  if (cpu === undefined && memory === undefined && !pids) return undefined;
  return {
    ...(cpu !== undefined ? { NanoCPUs: cpu } : {}),
    ...(memory !== undefined ? { MemoryBytes: memory } : {}),
    ...(pids ? { Pids: pids } : {}),
  };
}

/** The flags and arguments of `service create` as Docker's ServiceSpec (what `docker service create` sends). */
export function serviceSpecFromFlags(
  image: string,
  args: readonly string[],
  f: ServiceCreateFlags & ServiceTaskFlags,
): DockerServiceSpec {
  const limits = resources(f.limitCpu, f.limitMemory, f.limitPids);
  const reservations = resources(f.reserveCpu, f.reserveMemory);
  const restart = restartPolicyFromFlags(f);
  return {
    ...(f.name ? { Name: f.name } : {}),
    Labels: Object.fromEntries(f.label),
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(args.length ? { Args: [...args] } : {}),
        ...containerSpecFromFlags(f),
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
      ...(restart ? { RestartPolicy: restart } : {}),
      Placement: {
        ...(f.constraint.length ? { Constraints: f.constraint } : {}),
        ...(f.placementPref.length
          ? { Preferences: f.placementPref.map((d) => ({ Spread: { SpreadDescriptor: d } })) }
          : {}),
        ...(f.replicasMaxPerNode ? { MaxReplicas: f.replicasMaxPerNode } : {}),
      },
    },
    Mode: serviceModeFromFlags(f),
    EndpointSpec: endpointSpecFromFlags(f),
  };
}

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const shortId = (id: string) => id.slice(0, 12);

async function getService(api: ApiClient, ref: string): Promise<DockerService> {
  return api.json<DockerService>('GET', `/services/${encodeURIComponent(ref)}`, cluster);
}

/** `service ps --filter`: the task filters dockerd takes, checked here in the flag's words. */
export function taskFilters(terms: readonly string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const kv of terms) {
    const [k = '', ...v] = kv.split('=');
    if (!['desired-state', 'node', 'name', 'id'].includes(k) || v.length === 0)
      throw new TswarmError('USAGE', `invalid filter "${kv}". Use desired-state=, node=, name= or id=`);
    (filters[k] ??= []).push(v.join('='));
  }
  return filters;
}

async function serviceTasks(
  api: ApiClient,
  serviceId: string,
  desiredRunning: boolean,
  extra: Record<string, string[]> = {},
): Promise<DockerTask[]> {
  const filters: Record<string, string[]> = { ...extra, service: [serviceId] };
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
  let hostnames: Map<string, string> | undefined;
  for (;;) {
    const service = await getService(api, serviceId);
    const all = await serviceTasks(api, serviceId, false);
    const meantToRun = all.filter((t) => t.DesiredState === 'running');
    hostnames ??= new Map(
      (await api.json<DockerNode[]>('GET', '/nodes', cluster)).map((n) => [n.ID, n.Description.Hostname]),
    );
    const hostOf = (id: string) => hostnames?.get(id) ?? id.slice(0, 12);
    const { lines, converged } = serviceProgress(service, meantToRun, all, hostOf);
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

/** `service ps` columns as docker names them: template fields, and the table's titles. */
export const PS_HEADERS = {
  ID: 'ID',
  Name: 'NAME',
  Image: 'IMAGE',
  Node: 'NODE',
  DesiredState: 'DESIRED STATE',
  CurrentState: 'CURRENT STATE',
  Error: 'ERROR',
} as const;
export type PsRow = Record<keyof typeof PS_HEADERS, string>;

/** `service ps` rows, as docker's: the latest task of each slot first, older ones under it marked `\_`. */
/** Docker truncates a task's error in the table; `--no-trunc` shows it whole. */
const PS_ERROR_CHARS_MAX = 60;

export interface PsOptions {
  /** `--no-trunc`: full IDs, the image with its digest, the whole error. */
  noTrunc?: boolean;
  nowMs?: number;
}

export function psRows(
  service: DockerService,
  tasks: readonly DockerTask[],
  hostnames: ReadonlyMap<string, string>,
  options: PsOptions = {},
): PsRow[] {
  const nowMs = options.nowMs ?? Date.now();
  const id = (v: string) => (options.noTrunc ? v : shortId(v));
  const error = (e: string) =>
    options.noTrunc || e.length <= PS_ERROR_CHARS_MAX ? e : `${e.slice(0, PS_ERROR_CHARS_MAX - 1)}…`;
  // A replicated task belongs to its slot; a global one (no slot) to its node, as docker names it.
  const slotOf = (t: DockerTask) => (t.Slot !== undefined || !t.NodeID ? String(t.Slot ?? 0) : t.NodeID);
  const sorted = [...tasks].sort(
    (a, b) =>
      slotOf(a).localeCompare(slotOf(b), undefined, { numeric: true }) ||
      Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt),
  );
  let slot = '';
  return sorted.map((t) => {
    const first = slotOf(t) !== slot;
    slot = slotOf(t);
    const name = `${service.Spec.Name ?? service.ID}.${slotOf(t)}`;
    const since = ago(Date.parse(t.Status.Timestamp), nowMs);
    return {
      ID: id(t.ID),
      Name: first ? name : ` \\_ ${name}`,
      Image: options.noTrunc ? (t.Spec.ContainerSpec?.Image ?? '') : imageForDisplay(t.Spec.ContainerSpec?.Image ?? ''),
      Node: t.NodeID ? (hostnames.get(t.NodeID) ?? id(t.NodeID)) : '',
      DesiredState: capitalized(t.DesiredState),
      CurrentState: `${capitalized(t.Status.State)}${since ? ` ${since}` : ''}`,
      Error: error(t.Status.Err ?? ''),
    };
  });
}

/** `service ls` columns as docker names them: template fields, and the table's titles. */
export const LS_HEADERS = {
  ID: 'ID',
  Name: 'NAME',
  Mode: 'MODE',
  Replicas: 'REPLICAS',
  Image: 'IMAGE',
  Ports: 'PORTS',
} as const;
export type LsRow = Record<keyof typeof LS_HEADERS, string>;

/**
 * PORTS as `docker service ls` shows them: the ports published through the routing mesh,
 * `*:8080->80/tcp` (a port the swarm is to pick shows as `*:0->80/tcp` until networking assigns it).
 */
export function portsText(s: DockerService): string {
  return (s.Spec.EndpointSpec?.Ports ?? [])
    .filter((p) => p.PublishMode !== 'host')
    .map((p) => `*:${p.PublishedPort}->${p.TargetPort}/${p.Protocol}`)
    .join(', ');
}

export function lsRow(s: DockerService): LsRow {
  return {
    ID: shortId(s.ID),
    Name: s.Spec.Name ?? '',
    Mode: modeText(s),
    Replicas: replicasText(s),
    Image: imageForDisplay(s.Spec.TaskTemplate.ContainerSpec.Image),
    Ports: portsText(s),
  };
}

const FORMAT_HELP = (headers: Record<string, string>) =>
  `output format: table, json, or a Go template over ${Object.keys(headers)
    .map((k) => `.${k}`)
    .join(', ')} (e.g. "table {{.${Object.keys(headers)[1]}}}\\t{{.ID}}")`;

function parseScale(arg: string): [string, number] {
  const m = /^([^=]+)=(\d+)$/.exec(arg);
  if (!m || !Number.isSafeInteger(Number(m[2])))
    throw new TswarmError('USAGE', `invalid scale specifier "${arg}". Use SERVICE=REPLICAS, e.g. web=5`);
  return [m[1]!, Number(m[2])];
}

/** `service scale` for one service: the spec read, its replicas changed, written at the version read. */
async function scaleService(api: ApiClient, ref: string, replicas: number): Promise<DockerService> {
  const service = await getService(api, ref);
  const mode = service.Spec.Mode;
  if (!mode?.Replicated && !mode?.ReplicatedJob)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${ref}: scale can only be used with replicated or replicated-job mode`,
    );
  // A job scaled runs again with the new number of completions (an update of a job reruns it).
  const spec: DockerServiceSpec = {
    ...service.Spec,
    Mode: mode.ReplicatedJob
      ? { ReplicatedJob: { ...mode.ReplicatedJob, TotalCompletions: replicas } }
      : { Replicated: { Replicas: replicas } },
  };
  await api.json('POST', `/services/${service.ID}/update`, {
    ...cluster,
    query: { version: service.Version.Index },
    json: spec,
  });
  return service;
}

/** Everything `service create` reads: the spec's flags, the image's (service-image.ts), and how to wait. */
type CreateCommandFlags = ServiceCreateFlags &
  ServiceTaskFlags &
  ServiceImageFlags & { detach?: boolean; quiet?: boolean };

export function registerService(program: Command, ctx: () => CliContext): void {
  const service = program.command('service').description('Manage services (on a manager)');
  const nonNegative = (flag: string) => parseNonNegativeInt(flag);

  const create = withServiceImageOptions(service.command('create'))
    .description('Create a service; without --detach, show progress until its tasks run')
    .argument('<image>', 'the image its tasks run')
    .argument('[command...]', 'the command and its arguments')
    .option('--name <name>', 'the service name')
    .addOption(
      new Option('--mode <mode>', 'replicated (N tasks), global (one per node), replicated-job or global-job')
        .choices(SERVICE_MODES)
        .default('replicated'),
    )
    .option('--replicas <n>', 'number of tasks, or a job’s completions (default 1)', nonNegative('--replicas'))
    .option(
      '--max-concurrent <n>',
      'a replicated job’s tasks at a time (default: --replicas)',
      nonNegative('--max-concurrent'),
    )
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
    .option('-l, --label <k=v>', 'service label (repeatable)', collect(parseLabel), [])
    .option('--container-label <k=v>', 'container label (repeatable)', collect(parseLabel), [])
    .option('-d, --detach', 'return once the service is created, without waiting for its tasks')
    .option('-q, --quiet', 'print only the service ID')
    .passThroughOptions();
  addServiceTaskOptions(create).action(async (image: string, args: string[], f: CreateCommandFlags) => {
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
    .option('--format <format>', FORMAT_HELP(LS_HEADERS))
    .action(async (f: { filter: string[]; quiet?: boolean; format?: string }) => {
      const format = parseListFormat(f.format);
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
      if (format.kind === 'json') return c.out(formatJson(services));
      const rows = services.map(lsRow);
      if (format.kind === 'template') return c.out(formatWithTemplate(format, rows, LS_HEADERS));
      c.out(
        formatTable(
          Object.values(LS_HEADERS),
          rows.map((r) => Object.values(r)),
        ),
      );
    });

  service
    .command('ps')
    .description('List the tasks of services')
    .argument('<service...>', 'service names, IDs or ID prefixes')
    .option('-q, --quiet', 'print only task IDs')
    .option('--no-trunc', 'full IDs, images with their digest, whole errors')
    .option(
      '-f, --filter <key=value>',
      'desired-state=running|shutdown|accepted, node=, name=, id= (repeatable)',
      collect(String),
      [],
    )
    .option('--format <format>', FORMAT_HELP(PS_HEADERS))
    .action(async (refs: string[], f: { quiet?: boolean; format?: string; trunc: boolean; filter: string[] }) => {
      const format = parseListFormat(f.format);
      const c = ctx();
      const api = c.api();
      const [nodes, ...found] = await Promise.all([
        api.json<DockerNode[]>('GET', '/nodes', cluster),
        ...refs.map(async (r) => {
          const s = await getService(api, r);
          return { service: s, tasks: await serviceTasks(api, s.ID, false, taskFilters(f.filter)) };
        }),
      ]);
      const all = found.flatMap((x) => x.tasks);
      if (f.quiet) return c.out(all.map((t) => t.ID + '\n').join(''));
      if (format.kind === 'json') return c.out(formatJson(all));
      const hostnames = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
      const rows = found.flatMap((x) => psRows(x.service, x.tasks, hostnames, { noTrunc: !f.trunc }));
      if (format.kind === 'template') return c.out(formatWithTemplate(format, rows, PS_HEADERS));
      c.out(
        formatTable(
          Object.values(PS_HEADERS),
          rows.map((r) => Object.values(r)),
        ),
      );
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
  registerServiceLogs(service, ctx);
}
