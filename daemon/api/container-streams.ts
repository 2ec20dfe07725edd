import { TswarmError } from '../../lib/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { LogRecord } from '../../engine/runtime/runtime.js';
import type { ApiRequest, Route } from './router.js';
import { muxFrames, type Sink } from './reply.js';
import { versionAtLeast } from './versions.js';
import type { Readable } from 'node:stream';
import type { StdinAttachment } from '../../engine/runtime/runtime.js';
import { boolParam, containerRef, noSuchContainer, terminalSizeParams } from './params.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../lib/detach-keys.js';
import { pumpInputWithDetach } from './hijack-pump.js';
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
      const wantsStdin = boolParam(req.query, 'stdin');
      const detachKeys = parseDetachKeys(req.query.get('detachKeys') || DEFAULT_DETACH_KEYS);
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
      const stdinWanted = wantsStdin && (inspected.config?.spec?.openStdin ?? false);
      const sink = reply.upgrade(outputContentType(req, filter.raw));
      engine.containerEvent(id, 'attach');
      // Ends the output when the client detaches (or goes away): the container keeps running.
      const detached = new AbortController();
      sink.closed.addEventListener('abort', () => detached.abort(), { once: true });
      let stopInput = () => {};
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
        const input = stdinWanted ? reply.hijackedInput() : undefined;
        if (input) stopInput = await attachInput(engine, id, input, detachKeys, () => detached.abort());
        const records = engine.containerLogs(id, {
          follow: true,
          ...(sinceMs ? { sinceMs } : {}),
          signal: detached.signal,
        });
        await pipeRecords(records, sink, filter);
      } finally {
        stopInput();
        sink.end();
        release();
      }
    },
  };
}

/**
 * The client's input to the container's stdin through conmon, until the detach keys, the
 * client's end, or the container's; returns what stops it. A container that exited before its
 * stdin was reached has nothing to write to: its output still goes out.
 */
async function attachInput(
  engine: Engine,
  id: string,
  input: Readable,
  detachKeys: Buffer,
  onDetach: () => void,
): Promise<() => void> {
  let attachment: StdinAttachment;
  try {
    attachment = await engine.containerAttachStdin(id);
  } catch {
    return () => {};
  }
  const stop = pumpInputWithDetach(input, attachment.input, detachKeys, onDetach);
  return () => {
    stop();
    attachment.input.end();
  };
}

/** `POST /containers/{id}/resize?h=&w=`: a TTY container's terminal size (the CLI sends it at start and on window changes). */
function resizeRoute(engine: Engine): Route {
  return {
    method: 'POST',
    path: '/containers/{id}/resize',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const [h, w] = terminalSizeParams(req.query);
      const id = noSuchContainer(ref, () => engine.containerInspect(ref)).container!.id;
      try {
        await engine.containerResize(id, h, w);
      } catch (err) {
        if (err instanceof TswarmError && err.code === 'FAILED_PRECONDITION')
          throw new TswarmError('CONFLICT', err.message);
        throw err;
      }
      reply.empty(200);
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
  return [logsRoute(engine), attachRoute(engine), resizeRoute(engine), statsRoute(engine)];
}
