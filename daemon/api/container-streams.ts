import { TswarmError } from '../../lib/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { LogRecord } from '../../engine/runtime/runtime.js';
import type { ApiRequest, Route } from './router.js';
import { muxFrames, type Sink } from './reply.js';
import { versionAtLeast } from './versions.js';
import { boolParam, containerRef, noSuchContainer } from './params.js';
import { until } from './container-wait.js';
import { statsRoute } from './container-stats.js';

/** Lines from the end a `--tail` may ask for; more is the whole log anyway. */
const TAIL_MAX = 10_000_000;

/** Docker's multiplexed stream has its own content type from API 1.42; older clients expect raw-stream. */
export function muxContentType(req: ApiRequest): string {
  return versionAtLeast(req.version, '1.42')
    ? 'application/vnd.docker.multiplexed-stream'
    : 'application/vnd.docker.raw-stream';
}

/**
 * A TTY container's output is one terminal stream, sent raw as Docker sends it (clients read
 * `Config.Tty` from inspect and only demultiplex when it is false).
 */
function outputContentType(req: ApiRequest, tty: boolean): string {
  return tty ? 'application/vnd.docker.raw-stream' : muxContentType(req);
}

interface LogFilter {
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  untilMs?: number;
  /** The container has a TTY: records go out raw, without Docker's stream frames. */
  raw?: boolean;
}

/** Writes the records as frames, one write a record (a slow reader slows the follow). */
async function pipeRecords(records: AsyncIterable<LogRecord>, sink: Sink, f: LogFilter): Promise<void> {
  for await (const r of records) {
    if (sink.closed.aborted) return;
    if (f.untilMs !== undefined && r.timestampMs > f.untilMs) continue;
    if (r.stream === 'stdout' ? !f.stdout : !f.stderr) continue;
    const data = f.timestamps
      ? Buffer.concat([Buffer.from(`${new Date(r.timestampMs).toISOString()} `), r.data])
      : r.data;
    await sink.write(f.raw ? data : Buffer.concat(muxFrames(r.stream, data)));
  }
}

/** Docker's `since`/`until`: Unix seconds, maybe fractional ("1700000000.5"); 0 or absent is none. */
export function unixParamMs(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '' || v === '0') return undefined;
  if (!/^\d{1,12}(\.\d{1,9})?$/.test(v))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${name}=${v} is not a Unix time in seconds. Give one such as 1700000000`,
    );
  return Math.floor(Number(v) * 1000);
}

/** Docker's `tail`: lines from the end, or undefined for the whole log ("all", absent, or negative). */
export function tailParam(query: URLSearchParams): number | undefined {
  const v = query.get('tail');
  if (v === null || v === '' || v === 'all') return undefined;
  if (!/^-?\d{1,10}$/.test(v))
    throw new TswarmError('INVALID_ARGUMENT', `tail=${v} is not a number. Give one, or "all"`);
  const n = Number(v);
  return n < 0 ? undefined : Math.min(n, TAIL_MAX);
}

function logsRoute(engine: Engine): Route {
  return {
    method: 'GET',
    path: '/containers/{id}/logs',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const filter: LogFilter = {
        stdout: boolParam(req.query, 'stdout'),
        stderr: boolParam(req.query, 'stderr'),
        timestamps: boolParam(req.query, 'timestamps'),
      };
      const untilMs = unixParamMs(req.query, 'until');
      if (untilMs !== undefined) filter.untilMs = untilMs;
      if (!filter.stdout && !filter.stderr)
        throw new TswarmError('INVALID_ARGUMENT', 'You must choose at least one stream: stdout=1 or stderr=1');
      const sinceMs = unixParamMs(req.query, 'since');
      const tail = tailParam(req.query);
      const follow = boolParam(req.query, 'follow');
      const inspected = noSuchContainer(ref, () => engine.containerInspect(ref));
      const id = inspected.container!.id;
      filter.raw = inspected.config?.spec?.tty ?? false;
      const sink = reply.stream(200, outputContentType(req, filter.raw));
      const records = engine.containerLogs(id, {
        follow,
        ...(tail !== undefined ? { tail } : {}),
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        signal: sink.closed,
      });
      try {
        await pipeRecords(records, sink, filter);
      } finally {
        sink.end();
      }
    },
  };
}

/**
 * `POST /containers/{id}/attach` without stdin: the output of the container's next run (the
 * docker CLI's `run` attaches before it starts the container) or, for a running one, from now,
 * until it exits. An auto-remove container is kept until the output was read.
 */
function attachRoute(engine: Engine): Route {
  return {
    method: 'POST',
    path: '/containers/{id}/attach',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      if (boolParam(req.query, 'stdin'))
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'interactive attach is not supported yet. Attach without stdin (docker run without -i)',
        );
      const filter: LogFilter = {
        stdout: boolParam(req.query, 'stdout'),
        stderr: boolParam(req.query, 'stderr'),
        timestamps: false,
      };
      const inspected = noSuchContainer(ref, () => engine.containerInspect(ref));
      const first = inspected.container!;
      const id = first.id;
      filter.raw = inspected.config?.spec?.tty ?? false;
      const state = first.state;
      const release = first.labels['tswarm.engine.auto-remove'] === 'true' ? engine.containerHoldRemoval(id) : () => {};
      const sink = reply.upgrade(outputContentType(req, filter.raw));
      try {
        if (!boolParam(req.query, 'stream') || (!filter.stdout && !filter.stderr)) {
          if (boolParam(req.query, 'logs')) await pipeRecords(engine.containerLogs(id, {}), sink, filter);
          return;
        }
        let sinceMs: number | undefined;
        if (boolParam(req.query, 'logs')) sinceMs = undefined;
        else if (state?.status === 'running') sinceMs = Date.now();
        else {
          // Not running: wait for its next start; its output is what came after the last run ended.
          const startedBefore = state?.startedAtMs ?? 0;
          await until(
            () => {
              const s = engine.containerInspect(id).container?.state;
              return (s?.startedAtMs ?? 0) !== startedBefore;
            },
            sink.closed,
            ATTACH_START_WAIT_MS,
            ATTACH_START_POLL_MS,
          );
          if (state?.finishedAtMs) sinceMs = state.finishedAtMs + 1;
        }
        const records = engine.containerLogs(id, {
          follow: true,
          ...(sinceMs ? { sinceMs } : {}),
          signal: sink.closed,
        });
        await pipeRecords(records, sink, filter);
      } finally {
        sink.end();
        release();
      }
    },
  };
}

/**
 * An attach to a container that is not running waits this long for its start: `docker run` and
 * `docker start -a` start it right after attaching. A hijacked connection whose client left may
 * never say so (it is half-open and not read), so this bounds what such a wait holds.
 */
const ATTACH_START_WAIT_MS = 60_000;
/**
 * How often that wait looks: the start follows the attach within milliseconds, and every poll is
 * an in-memory lookup, so a short period keeps `run`'s output (and its end) from lagging.
 */
const ATTACH_START_POLL_MS = 10;

export function containerStreamRoutes(engine: Engine): Route[] {
  return [logsRoute(engine), attachRoute(engine), statsRoute(engine)];
}
