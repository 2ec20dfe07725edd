import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { LOG_WARNINGS_HEADER } from '../../lib/api-version.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import { demuxAll } from '../../lib/api-client/demux.js';
import type { DockerNode, DockerService, DockerTask } from '../../lib/api-client/swarm-types.js';
import { parseDurationMs } from '../../lib/duration.js';
import { TswarmError } from '../../lib/errors.js';
import { stderr } from './container-api.js';
import { parseTail } from './container.js';

/**
 * `tswarm service logs`, as `docker service logs` reads: the lines of every task of a service (or
 * of one task), from every node, each after a `web.1.x8k2…@w1    | ` prefix. The daemon streams
 * them with their swarm context (`details`); the prefix is made here from the IDs, as the docker
 * CLI makes it. Nodes whose lines are missing are named on stderr as the daemon learns of them.
 */

const cluster = { timeoutMs: CLUSTER_CALL_DEADLINE_MS };
/** Docker's short task ID in the prefix. */
const TASK_ID_SHORT = 12;

export interface ServiceLogsFlags {
  follow?: boolean;
  tail: number;
  timestamps?: boolean;
  since?: string;
  /** `--no-task-ids` sets it false. */
  taskIds: boolean;
  /** `--no-trunc` sets it false. */
  trunc: boolean;
  /** `--no-resolve` sets it false: IDs instead of node and service names. */
  resolve: boolean;
  raw?: boolean;
}

/**
 * Docker's `--since`: Unix seconds (maybe fractional), an RFC 3339 time or date, or a duration
 * before now ("42m", "1h30m"); the daemon takes Unix seconds.
 */
export function sinceParam(value: string, nowMs: number): string {
  const v = value.trim();
  if (/^\d{1,12}(\.\d{1,9})?$/.test(v)) return v;
  let ms: number;
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(v)) ms = nowMs - parseDurationMs(v, '--since');
  else ms = Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0)
    throw new TswarmError(
      'USAGE',
      `invalid --since "${value}". Give a time (2025-01-02T15:04:05Z), Unix seconds (1735830245) or a duration ago (42m)`,
    );
  return (ms / 1000).toFixed(3);
}

/** A line's swarm context, as the daemon writes it in front of the line with `details`. */
export interface LineContext {
  nodeId: string;
  serviceId: string;
  taskId: string;
}

export interface ParsedLine {
  /** The timestamp as written, with `--timestamps`. */
  timestamp?: string;
  context: LineContext;
  /** The line itself, as the task wrote it. */
  text: Buffer;
}

/**
 * Splits `[TIMESTAMP ]DETAILS LINE` (what the daemon writes with `details`): the details are
 * `key=value` pairs, comma-separated and query-escaped, the swarm's node, service and task IDs
 * among them (Docker's logdetails).
 */
export function parseLogLine(data: Buffer, timestamps: boolean): ParsedLine {
  let rest = data;
  let timestamp: string | undefined;
  if (timestamps) {
    const space = rest.indexOf(0x20);
    if (space === -1) throw malformed(data);
    timestamp = rest.subarray(0, space).toString();
    rest = rest.subarray(space + 1);
  }
  const space = rest.indexOf(0x20);
  if (space === -1) throw malformed(data);
  const details = new Map<string, string>();
  for (const pair of rest.subarray(0, space).toString().split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw malformed(data);
    details.set(unescape(pair.slice(0, eq)), unescape(pair.slice(eq + 1)));
  }
  const get = (key: string) => {
    const v = details.get(`com.docker.swarm.${key}.id`);
    if (v === undefined) throw malformed(data);
    return v;
  };
  const context = { nodeId: get('node'), serviceId: get('service'), taskId: get('task') };
  return { ...(timestamp !== undefined ? { timestamp } : {}), context, text: rest.subarray(space + 1) };
}

function unescape(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

function malformed(data: Buffer): TswarmError {
  return new TswarmError(
    'INTERNAL',
    `tswarmd sent a log line without its task context: ${JSON.stringify(data.toString())}`,
  );
}

/** What the prefix of one task's lines is made of. */
export interface PrefixParts {
  serviceName: string;
  slot: number;
  taskId: string;
  nodeName: string;
}

/**
 * Docker's prefix: `SERVICE.SLOT[.TASKID]@NODE`, the task ID cut to 12 characters unless
 * `--no-trunc`, then spaces so that slots of fewer digits than the widest line up.
 */
export function formatPrefix(p: PrefixParts, o: { taskIds: boolean; trunc: boolean; slotDigits: number }): string {
  let name = `${p.serviceName}.${p.slot}`;
  if (o.taskIds) name += `.${o.trunc ? p.taskId.slice(0, TASK_ID_SHORT) : p.taskId}`;
  const padding = ' '.repeat(Math.max(0, o.slotDigits - String(p.slot).length));
  return `${name}@${p.nodeName}${padding}`;
}

/** The prefix line: `[TIMESTAMP ]PREFIX    | LINE`. */
export function formatLine(parsed: ParsedLine, prefix: string): Buffer {
  const head = `${parsed.timestamp !== undefined ? parsed.timestamp + ' ' : ''}${prefix}    | `;
  return Buffer.concat([Buffer.from(head), parsed.text]);
}

/**
 * Makes prefixes from the IDs of each line, looking names up once (nodes and services by ID,
 * tasks for their slot), as the docker CLI's task formatter does; a task or node that appears
 * later (following) is looked up when its first line comes.
 */
class Prefixes {
  private readonly cache = new Map<string, string>();
  private nodes: Map<string, string> | undefined;
  private readonly services = new Map<string, string>();
  private readonly slots = new Map<string, number>();

  constructor(
    private readonly api: ApiClient,
    private readonly flags: ServiceLogsFlags,
    private readonly slotDigits: number,
    known: { services: DockerService[]; tasks: DockerTask[] },
  ) {
    for (const s of known.services) this.services.set(s.ID, s.Spec.Name ?? s.ID);
    for (const t of known.tasks) this.slots.set(t.ID, t.Slot ?? 0);
  }

  async of(c: LineContext): Promise<string> {
    const key = `${c.nodeId}/${c.serviceId}/${c.taskId}`;
    let prefix = this.cache.get(key);
    if (prefix === undefined) {
      const parts = {
        serviceName: this.flags.resolve ? await this.serviceName(c.serviceId) : c.serviceId,
        slot: await this.slot(c.taskId),
        taskId: c.taskId,
        nodeName: this.flags.resolve ? await this.nodeName(c.nodeId) : c.nodeId,
      };
      prefix = formatPrefix(parts, {
        taskIds: this.flags.taskIds,
        trunc: this.flags.trunc,
        slotDigits: this.slotDigits,
      });
      this.cache.set(key, prefix);
    }
    return prefix;
  }

  private async nodeName(id: string): Promise<string> {
    if (!this.nodes?.has(id)) {
      const nodes = await this.api.json<DockerNode[]>('GET', '/nodes', cluster);
      this.nodes = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
    }
    return this.nodes.get(id) ?? id;
  }

  private async serviceName(id: string): Promise<string> {
    let name = this.services.get(id);
    if (name === undefined) {
      const s = await this.api
        .json<DockerService>('GET', `/services/${encodeURIComponent(id)}`, cluster)
        .catch(() => undefined);
      name = s?.Spec.Name ?? id;
      this.services.set(id, name);
    }
    return name;
  }

  private async slot(id: string): Promise<number> {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      const t = await this.api
        .json<DockerTask>('GET', `/tasks/${encodeURIComponent(id)}`, cluster)
        .catch(() => undefined);
      slot = t?.Slot ?? 0;
      this.slots.set(id, slot);
    }
    return slot;
  }
}

/** What `SERVICE|TASK` names: a service first (by name, ID or prefix), else a task, as the docker CLI looks. */
async function findTarget(
  api: ApiClient,
  ref: string,
): Promise<{ path: string; slotDigits: number; services: DockerService[]; tasks: DockerTask[] }> {
  const notFound = (err: unknown) => err instanceof TswarmError && err.code === 'NOT_FOUND';
  try {
    const service = await api.json<DockerService>('GET', `/services/${encodeURIComponent(ref)}`, cluster);
    const filters = JSON.stringify({ service: [service.ID] });
    const tasks = await api.json<DockerTask[]>('GET', '/tasks', { ...cluster, query: { filters } });
    const replicas = service.Spec.Mode?.Replicated?.Replicas ?? 1;
    return { path: `/services/${service.ID}/logs`, slotDigits: String(replicas).length, services: [service], tasks };
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  try {
    const task = await api.json<DockerTask>('GET', `/tasks/${encodeURIComponent(ref)}`, cluster);
    return { path: `/tasks/${task.ID}/logs`, slotDigits: String(task.Slot ?? 0).length, services: [], tasks: [task] };
  } catch (err) {
    if (notFound(err)) throw new TswarmError('NOT_FOUND', `no such task or service: ${ref}. Run \`tswarm service ls\``);
    throw err;
  }
}

async function showLogs(c: CliContext, ref: string, f: ServiceLogsFlags): Promise<void> {
  const api = c.api();
  const target = await findTarget(api, ref);
  const prefixes = new Prefixes(api, f, target.slotDigits, target);
  // Only the answer's headers are bounded: a followed stream lasts until Ctrl-C.
  const res = await api.request('GET', target.path, {
    query: {
      stdout: 1,
      stderr: 1,
      follow: f.follow ? 1 : undefined,
      tail: f.tail < 0 ? 'all' : f.tail,
      timestamps: f.timestamps ? 1 : undefined,
      since: f.since !== undefined ? sinceParam(f.since, Date.now()) : undefined,
      details: f.raw ? undefined : 1,
    },
    headers: { [LOG_WARNINGS_HEADER]: 'inline' },
    timeoutMs: CLUSTER_CALL_DEADLINE_MS,
  });
  let missing = 0;
  try {
    for await (const frame of demuxAll(res)) {
      if (frame.stream === 'systemerr') {
        const text = frame.data.toString().trim();
        if (!text.startsWith('warning: ')) throw new TswarmError('UNAVAILABLE', text);
        missing++;
        stderr(`${text}\n`);
        continue;
      }
      const out = frame.stream === 'stderr' ? stderr : c.out;
      if (f.raw) {
        out(frame.data);
        continue;
      }
      const parsed = parseLogLine(frame.data, !!f.timestamps);
      out(formatLine(parsed, await prefixes.of(parsed.context)));
    }
  } finally {
    res.destroy();
  }
  if (missing > 0) {
    const nodes = missing === 1 ? 'a node' : `${missing} nodes`;
    throw new TswarmError(
      'UNAVAILABLE',
      `the logs are incomplete: the lines of ${nodes} named above are missing. Run the command again once ${missing === 1 ? 'it is' : 'they are'} back`,
    );
  }
}

export function registerServiceLogs(service: Command, ctx: () => CliContext): void {
  service
    .command('logs')
    .description('Show the output of a service’s tasks (or of one task), from every node')
    .argument('<service|task>', 'a service name, ID or ID prefix, or a task ID')
    .option('-f, --follow', 'keep streaming new lines, from the tasks running now and those started later')
    .option('-n, --tail <n>', 'lines from the end of each task’s log, or "all"', parseTail, -1)
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--since <time>', 'lines since a time: 2025-01-02T15:04:05Z, Unix seconds, or a duration ago (42m)')
    .option('--no-task-ids', 'leave the task IDs out of the prefix')
    .option('--no-trunc', 'full task IDs in the prefix')
    .option('--no-resolve', 'node and service IDs instead of names in the prefix')
    .option('--raw', 'the lines alone, without the prefix')
    .action(async (ref: string, f: ServiceLogsFlags) => showLogs(ctx(), ref, f));
}
