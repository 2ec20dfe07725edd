import { asTswarmError } from '../../lib/errors.js';
import type { EventBus } from '../events/bus.js';
import { eventMatches, parseEventFilters } from '../events/filter.js';
import { eventJsonLine, NS_PER_MS } from '../events/message.js';
import { eventWindow } from '../events/times.js';
import type { ApiRequest, Route } from './router.js';
import type { Reply } from './reply.js';
import type { ApiContext } from './routes.js';

/** setTimeout's longest delay; a later `until` is waited for in steps. */
const TIMER_MS_MAX = 2 ** 31 - 1;

/** Calls `fn` once the wall clock reaches `atMs`; returns the cancel. */
function at(atMs: number, fn: () => void, nowMs: () => number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const delayMs = atMs - nowMs();
    if (delayMs <= 0) return fn();
    timer = setTimeout(arm, Math.min(delayMs, TIMER_MS_MAX));
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * `GET /events`, as dockerd serves it (moby api/server/router/system, getEvents): a 200 with one
 * JSON event per line, each written (and flushed) as it happens. With `since`, the kept events
 * from then come first; with an `until` already past, those are all and the stream ends; with
 * one to come, the stream ends then. `filters` as dockerd's (daemon/events/filter.ts). A reader
 * too slow for the events is cut off: the stream ends, with the error in its trailers.
 */
export async function serveEvents(bus: EventBus, req: ApiRequest, reply: Reply, nowMs = Date.now): Promise<void> {
  // Checked before the 200 goes out: after it, an error can only end the stream.
  const window = eventWindow(req.query);
  const filters = parseEventFilters(req.query.get('filters'));
  const subscription = bus.subscribe({
    ...window,
    ...(filters.size > 0 ? { include: (m) => eventMatches(filters, m) } : {}),
  });
  const untilMs = window.untilNano === undefined ? undefined : Number(window.untilNano / NS_PER_MS);
  let cancelUntil: () => void = () => undefined;
  // Only past events: the replay, then the end. Else live ones until `until` (if any) or the client leaves.
  if (untilMs !== undefined && untilMs < nowMs()) subscription.close();
  else if (untilMs !== undefined) cancelUntil = at(untilMs, () => subscription.close(), nowMs);
  const sink = reply.stream(200, 'application/json');
  sink.closed.addEventListener('abort', () => subscription.close(), { once: true });
  let failure: { code: string; message: string } | undefined;
  try {
    for await (const m of subscription) await sink.write(eventJsonLine(m));
  } catch (err) {
    const e = asTswarmError(err);
    if (!sink.closed.aborted) {
      req.log.warn({ err: e.message }, 'an event stream was cut off');
      failure = { code: e.code, message: e.message };
    }
  } finally {
    cancelUntil();
    subscription.close();
    sink.end(failure);
  }
}

export function eventRoutes(ctx: ApiContext): Route[] {
  return [{ method: 'GET', path: '/events', handler: (req, reply) => serveEvents(ctx.events, req, reply) }];
}
