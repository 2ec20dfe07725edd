import { asTswarmError, TswarmError } from '../../lib/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { Route } from './router.js';
import { containerRef } from './params.js';

/** How often a wait looks for what the engine does not announce (a new start, a removal). */
const POLL_MS = 100;
/** How long after its exit an auto-remove container may take to be gone. */
const REMOVAL_WAIT_MS = 60_000;

type Condition = 'not-running' | 'next-exit' | 'removed';
const CONDITIONS: readonly Condition[] = ['not-running', 'next-exit', 'removed'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `probe` holds; the client going away (signal) ends it with an error, and so does
 * `timeoutMs` when given (a wait no client can end, such as a hijacked connection's).
 */
export async function until(
  probe: () => boolean,
  signal: AbortSignal,
  timeoutMs?: number,
  pollMs = POLL_MS,
): Promise<void> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  while (!probe()) {
    if (signal.aborted) throw new TswarmError('UNAVAILABLE', 'the client went away');
    if (Date.now() >= deadline)
      throw new TswarmError('DEADLINE_EXCEEDED', `gave up waiting after ${timeoutMs} ms. Start the container first`);
    await sleep(pollMs);
  }
}

interface Snapshot {
  status: string;
  startedAtMs: number;
  exitCode: number;
}

function snapshot(engine: Engine, id: string): Snapshot | undefined {
  try {
    const s = engine.containerInspect(id).container?.state;
    return { status: s?.status ?? '', startedAtMs: s?.startedAtMs ?? 0, exitCode: s?.exitCode ?? 0 };
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** Until the container is not running (or gone): its exit code, the last one seen when it went. */
async function exited(engine: Engine, id: string, signal: AbortSignal): Promise<number> {
  let last = snapshot(engine, id);
  if (!last) return 0;
  // The poll for a removal stops once the exit is seen.
  const done = new AbortController();
  const gone = until(
    () => {
      const now = snapshot(engine, id);
      if (now) last = now;
      return now === undefined;
    },
    AbortSignal.any([signal, done.signal]),
  ).then(() => last?.exitCode ?? 0);
  try {
    return await Promise.race([engine.containerWait(id).then((r) => r.exitCode), gone]);
  } finally {
    done.abort();
    gone.catch(() => undefined);
  }
}

/**
 * Until the container is gone. An auto-remove under way is awaited (its failure is the answer, as
 * dockerd's); otherwise, and after it, the container is polled: one still there after
 * REMOVAL_WAIT_MS has failed to go, and the client is told instead of waiting on.
 */
async function removed(engine: Engine, id: string, code: number, signal: AbortSignal): Promise<void> {
  const removal = engine.containerRemoval(id);
  if (removal) {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, REMOVAL_WAIT_MS)));
    const left = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await Promise.race([removal, bound, left]);
    } catch (err) {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `the container exited (code ${code}) but could not be removed: ${asTswarmError(err).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
  await until(() => snapshot(engine, id) === undefined, signal, REMOVAL_WAIT_MS).catch((err: unknown) => {
    if (!(err instanceof TswarmError && err.code === 'DEADLINE_EXCEEDED')) throw err;
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `the container exited (code ${code}) but was not removed within ${REMOVAL_WAIT_MS / 1000} s. Remove it with "tswarm rm -f ${id.slice(0, 12)}"`,
    );
  });
}

async function waitCondition(engine: Engine, id: string, condition: Condition, signal: AbortSignal): Promise<number> {
  const first = snapshot(engine, id);
  if (!first) return 0;
  if (condition === 'not-running') {
    if (first.status !== 'running') return first.exitCode;
    return exited(engine, id, signal);
  }
  if (condition === 'next-exit' && first.status === 'exited') {
    // The exit that is over does not count: wait for the next start, then its exit.
    await until(() => {
      const now = snapshot(engine, id);
      return now === undefined || now.status !== 'exited' || now.startedAtMs !== first.startedAtMs;
    }, signal);
  }
  const code = await exited(engine, id, signal);
  if (condition === 'removed') await removed(engine, id, code, signal);
  return code;
}

/**
 * `POST /containers/{id}/wait?condition=`: the headers go out at once (the docker CLI's `run`
 * waits for them before it starts the container), the body when the condition is met.
 */
export function waitRoute(engine: Engine): Route {
  return {
    method: 'POST',
    path: '/containers/{id}/wait',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const given = req.query.get('condition') || 'not-running';
      if (!(CONDITIONS as readonly string[]).includes(given))
        throw new TswarmError('INVALID_ARGUMENT', `invalid condition "${given}". Use ${CONDITIONS.join(', ')}`);
      let id: string;
      try {
        id = engine.containerInspect(ref).container!.id;
      } catch (err) {
        if (err instanceof TswarmError && err.code === 'NOT_FOUND')
          throw new TswarmError('NOT_FOUND', `No such container: ${ref}`);
        throw err;
      }
      const sink = reply.stream(200, 'application/json');
      let body: Record<string, unknown>;
      try {
        body = { StatusCode: await waitCondition(engine, id, given as Condition, sink.closed) };
      } catch (err) {
        if (sink.closed.aborted) return;
        body = { StatusCode: -1, Error: { Message: (err as Error).message } };
      }
      await sink.write(JSON.stringify(body) + '\n').catch(() => undefined);
      sink.end();
    },
  };
}
