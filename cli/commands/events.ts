import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseLine, readLines } from '../../lib/api-client/json-lines.js';
import { LOCAL_CALL_DEADLINE_MS, streamFailure } from '../../lib/api-client/client.js';
import { EVENT_FILTER_KEYS } from '../../lib/event-filters.js';
import { parseFormat } from '../output.js';
import { collect } from './engine-flags.js';
import { filterParser, filtersQuery, type Filter } from './filters.js';
import { dockerTimestamp } from './timestamps.js';

/** One event as `GET /events` sends it (Docker's EventMessage), the fields the CLI reads. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> | null };
  scope?: string;
  time?: number;
  timeNano?: number;
}

export const parseEventFilter = filterParser(EVENT_FILTER_KEYS);

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * The time of an event as the docker CLI prints it: RFC 3339 with nine fraction digits, in the
 * local time zone (Go's RFC3339NanoFixed). The nanoseconds come from the line's own digits, which
 * a JavaScript number cannot hold exactly.
 */
export function eventTime(timeNano: string, offsetMinutes = new Date().getTimezoneOffset()): string {
  const ns = BigInt(timeNano);
  const ms = Number(ns / 1_000_000n);
  const local = new Date(ms - offsetMinutes * 60_000);
  const fraction = String(ns % 1_000_000_000n).padStart(9, '0');
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes > 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`;
  const d = local;
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${fraction}${zone}`
  );
}

/** `TIME TYPE ACTION ID (k=v, …)`, attributes sorted by key: the docker CLI's line for an event. */
export function formatEvent(e: DockerEvent, timeNano: string | undefined, offsetMinutes?: number): string {
  let line = '';
  if (timeNano !== undefined && timeNano !== '0') line += `${eventTime(timeNano, offsetMinutes)} `;
  else if (e.time) line += `${eventTime(`${e.time}000000000`, offsetMinutes)} `;
  line += `${e.Type} ${e.Action} ${e.Actor.ID}`;
  const attributes = Object.entries(e.Actor.Attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (attributes.length > 0) line += ` (${attributes.map(([k, v]) => `${k}=${v}`).join(', ')})`;
  return `${line}\n`;
}

/** The exact `timeNano` digits of a line (JSON.parse would round them to a float's precision). */
function timeNanoOf(line: string): string | undefined {
  return /"timeNano":(\d+)/.exec(line)?.[1];
}

export interface EventsFlags {
  since?: string;
  until?: string;
  filter?: Filter[];
  format?: string;
}

/**
 * `tswarm events`: this node's events as they happen (containers, images, volumes, networks; on a
 * manager also the swarm's nodes and services), as `docker events` shows them. With `--until`,
 * the stream ends then (at once, after the past events, for an `--until` already past).
 */
export async function streamEvents(c: CliContext, flags: EventsFlags, nowMs = Date.now()): Promise<void> {
  const format = parseFormat(flags.format);
  const res = await c.api().request('GET', '/events', {
    query: {
      since: flags.since !== undefined ? dockerTimestamp(flags.since, nowMs, '--since') : undefined,
      until: flags.until !== undefined ? dockerTimestamp(flags.until, nowMs, '--until') : undefined,
      filters: filtersQuery(flags.filter ?? []),
    },
    timeoutMs: LOCAL_CALL_DEADLINE_MS,
  });
  try {
    // Each line as the daemon wrote it: `--format json` passes it on with its exact timeNano.
    for await (const line of readLines(res)) {
      const event = parseLine<DockerEvent>(line);
      c.out(format === 'json' ? `${line}\n` : formatEvent(event, timeNanoOf(line)));
    }
  } finally {
    res.destroy();
  }
  // A stream the daemon cut short says why in its trailers (a reader that fell too far behind).
  const failure = streamFailure(res);
  if (failure) throw failure;
}

export function registerEvents(program: Command, ctx: () => CliContext): void {
  program
    .command('events')
    .description('Show the events of this node (and, on a manager, of the swarm) as they happen')
    .option(
      '--since <time>',
      'also the events since a time: 2025-01-02T15:04:05Z, Unix seconds, or a duration ago (10m)',
    )
    .option('--until <time>', 'stop at a time (at once, after the past events, for a time already past)')
    .option(
      '-f, --filter <key=value>',
      `type=container|image|volume|network|node|service, event=ACTION, container=, image=, volume=, network=, node=, service=, label=KEY[=VALUE], scope=local|swarm (repeatable)`,
      collect(parseEventFilter),
    )
    .option('--format <format>', 'output format: table (one line per event) or json (one object per line)')
    .action(async (opts: EventsFlags) => {
      await streamEvents(ctx(), opts);
    });
}
