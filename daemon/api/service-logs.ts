import { LOG_WARNINGS_HEADER } from '../../lib/api-version.js';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { shortId } from '../../lib/ids.js';
import type { LogLine } from '../../gen/tswarm/v1/objects.js';
import type { LogNodeWarning } from '../../gen/tswarm/v1/control.js';
import type { LogSelector, LogSubscriptionOptions } from '../../gen/tswarm/v1/logbroker.js';
import type { ApiRequest, Route } from './router.js';
import type { ApiContext } from './routes.js';
import { muxFrames, type Reply } from './reply.js';
import { boolParam } from './params.js';
import { muxContentType, tailParam, unixParamMs } from './container-streams.js';
import { managerControl } from './swarm-access.js';
import type { ControlForwarder } from './control-forwarder.js';

/** How one `/services/{id}/logs` or `/tasks/{id}/logs` request wants its lines. */
export interface LogQuery {
  options: LogSubscriptionOptions;
  timestamps: boolean;
  /** Each line starts with its context (`com.docker.swarm.node.id=…,…`): what the docker CLI's prefix is made of. */
  details: boolean;
}

/** dockerd's checks and defaults for the logs query (moby: swarmLogs), before the stream starts. */
export function parseLogQuery(query: URLSearchParams): LogQuery {
  const stdout = boolParam(query, 'stdout');
  const stderr = boolParam(query, 'stderr');
  if (!stdout && !stderr)
    throw new TswarmError('INVALID_ARGUMENT', "must specify at least one of 'stdout' or 'stderr'");
  const tail = tailParam(query);
  const sinceMs = unixParamMs(query, 'since') ?? 0;
  return {
    options: { follow: boolParam(query, 'follow'), sinceMs, stdout, stderr, ...(tail !== undefined ? { tail } : {}) },
    timestamps: boolParam(query, 'timestamps'),
    details: boolParam(query, 'details'),
  };
}

/** dockerd's timestamp for a log line: RFC 3339 with nanoseconds always written out (rfc3339NanoFixed). */
export function fixedNanoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/**
 * A line's context as dockerd writes it with `details`: the swarm attributes, sorted by key,
 * each query-escaped. The docker CLI resolves these IDs into its `web.1.x8k…@w1` prefix.
 */
export function lineDetails(line: LogLine): string {
  const attrs: [string, string][] = [
    ['com.docker.swarm.node.id', line.nodeId],
    ['com.docker.swarm.service.id', line.serviceId],
    ['com.docker.swarm.task.id', line.taskId],
  ];
  return attrs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join(',');
}

/** One line as the stream carries it: `[TIMESTAMP ][DETAILS ]DATA`, in a frame of its stream. */
export function lineFrames(line: LogLine, q: Pick<LogQuery, 'timestamps' | 'details'>): Buffer[] {
  const head = `${q.timestamps ? fixedNanoTimestamp(line.timestampMs) + ' ' : ''}${q.details ? lineDetails(line) + ' ' : ''}`;
  return muxFrames(line.stream === 'stderr' ? 'stderr' : 'stdout', Buffer.concat([Buffer.from(head), line.data]));
}

/** A node whose lines are missing, in words: `node w2 (7c1f0a9e2b4d) is down`. */
export function describeMissingNode(w: LogNodeWarning): string {
  return `node ${w.hostname || shortId(w.nodeId)} (${shortId(w.nodeId)}) ${w.reason}`;
}

/** What the stream ends with when nodes are missing: dockerd's "Error grabbing logs" words, naming them. */
export function incompleteStreamMessage(warnings: readonly LogNodeWarning[]): string {
  const nodes = warnings.map(describeMissingNode).join('; ');
  return `Error grabbing logs: incomplete log stream, the lines of these nodes' tasks are missing: ${nodes}\n`;
}

/** A warning sent while the stream goes on (only to a client that asked: LOG_WARNINGS_HEADER). */
export function inlineWarning(w: LogNodeWarning): string {
  return `warning: ${describeMissingNode(w)}: its tasks' lines are missing\n`;
}

/** Docker's 404 words for a service or task named on the path (the docker CLI tells them apart by the status). */
async function selectorFor(control: ControlForwarder, kind: 'service' | 'task', ref: string): Promise<LogSelector> {
  try {
    if (kind === 'service') {
      const { service } = await control.call('getService', { serviceId: ref });
      return { serviceIds: [service!.id], taskIds: [] };
    }
    const { task } = await control.call('getTask', { taskId: ref });
    return { serviceIds: [], taskIds: [task!.id] };
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND')
      throw new TswarmError('NOT_FOUND', `${kind} ${ref} not found`);
    throw err;
  }
}

/**
 * Streams the lines of a service's (or a task's) tasks from every node, through the leader's log
 * broker, as dockerd does: multiplexed stdout/stderr frames (tasks have no TTY), `follow`,
 * `tail`, `since`, `timestamps`, `details`. Nodes whose lines are missing are named in a system-error
 * frame: at the end of the stream (what Docker's clients read), or as they happen for a client
 * that asks (LOG_WARNINGS_HEADER), and then the stream goes on.
 */
async function serveLogs(ctx: ApiContext, kind: 'service' | 'task', req: ApiRequest, reply: Reply): Promise<void> {
  const control = managerControl(ctx);
  // Checked before the 200 goes out: after it, an error can only travel inside the stream.
  const q = parseLogQuery(req.query);
  const selector = await selectorFor(control, kind, req.params.id!);
  const inline = req.headers[LOG_WARNINGS_HEADER] === 'inline';
  const sink = reply.stream(200, muxContentType(req));
  const missing: LogNodeWarning[] = [];
  try {
    for await (const m of control.stream('serviceLogs', { selector, options: q.options }, sink.closed)) {
      const frames = m.lines.flatMap((l) => lineFrames(l, q));
      for (const w of m.warnings) {
        if (inline) frames.push(...muxFrames('systemerr', inlineWarning(w)));
        else missing.push(w);
      }
      if (frames.length > 0) await sink.write(Buffer.concat(frames));
    }
    if (missing.length > 0) await sink.write(Buffer.concat(muxFrames('systemerr', incompleteStreamMessage(missing))));
  } catch (err) {
    if (!sink.closed.aborted)
      await sink
        .write(Buffer.concat(muxFrames('systemerr', `Error grabbing logs: ${asTswarmError(err).message}\n`)))
        .catch(() => undefined);
  } finally {
    sink.end();
  }
}

/** `GET /services/{id}/logs` and `GET /tasks/{id}/logs`, on a manager (moby's swagger: ServiceLogs, TaskLogs). */
export function serviceLogRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'GET', path: '/services/{id}/logs', handler: (req, reply) => serveLogs(ctx, 'service', req, reply) },
    { method: 'GET', path: '/tasks/{id}/logs', handler: (req, reply) => serveLogs(ctx, 'task', req, reply) },
  ];
}
