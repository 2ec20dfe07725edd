import { TswarmError } from '../../lib/errors.js';
import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { Engine } from '../../engine/engine.js';
import { parseReference } from '../../engine/image/reference.js';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from '../../engine/runtime/process.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { containerConfigFromDocker } from './container-create.js';
import { dockerContainerInspect, dockerContainerSummary, imageDefaults } from './container-shapes.js';
import { boolParam, containerRef, filtersParam, intParam, noSuchContainer } from './params.js';
import { waitRoute } from './container-wait.js';
import { containerStreamRoutes } from './container-streams.js';
import { execRoutes } from './exec.js';
import { topRoute } from './container-top.js';
import { renameRoute } from './container-rename.js';
import { CONTAINER_FILTER_KEYS, checkContainerFilters, matchesContainerFilters } from './container-filters.js';

/** A stop waits out the grace period; more than a day is a mistake. */
const STOP_SECONDS_MAX = 24 * 3600;
const NAME_PARAM_CHARS_MAX = 256;

/**
 * The image must be on the node: a 404 makes the docker CLI pull it and create again. A name
 * that is no reference at all is a 400, as dockerd's "invalid reference format": no pull can help.
 */
async function requireImage(engine: Engine, image: string): Promise<void> {
  try {
    await engine.images.inspect(image);
  } catch (err) {
    if (!(err instanceof TswarmError && err.code === 'NOT_FOUND')) throw err;
    parseReference(image);
    throw new TswarmError('NOT_FOUND', `No such image: ${image}`);
  }
}

function stopTimeoutMs(query: URLSearchParams): number | undefined {
  const t = intParam(query, 't');
  if (t === undefined || t < 0) return undefined; // Docker's -1: the container's own grace period
  if (t > STOP_SECONDS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', `t=${t} is out of range. Give 0 to ${STOP_SECONDS_MAX} seconds`);
  return t * 1000;
}

/**
 * `GET /containers/json`. With `size=1` (`docker ps -s`) each also has SizeRw (its changes: the
 * overlay upper dir, walked) and SizeRootFs (with its image), measured as `system df` measures.
 */
async function summaries(engine: Engine, query: URLSearchParams): Promise<Record<string, unknown>[]> {
  const filters = filtersParam(query, CONTAINER_FILTER_KEYS);
  checkContainerFilters(filters);
  const all = boolParam(query, 'all') || filters.some((f) => f.key === 'status' || f.key === 'exited');
  const limit = intParam(query, 'limit', -1)!;
  let list: ContainerSummary[] = engine.containerList({ all: all || limit > 0 });
  list = list.filter((c) => matchesContainerFilters(c, filters));
  if (limit > 0) list = list.slice(0, limit);
  const sizes = boolParam(query, 'size')
    ? new Map((await engine.diskUsage.containers()).map((u) => [u.container.id, u]))
    : undefined;
  return list.flatMap((c) => {
    const summary = dockerSummaryOf(engine, c);
    if (!summary) return [];
    if (!sizes) return [summary];
    const u = sizes.get(c.id);
    return [{ ...summary, SizeRw: u?.sizeRwBytes ?? 0, SizeRootFs: u?.sizeRootFsBytes ?? 0 }];
  });
}

/** Docker's ContainerSummary of a listed container; undefined when it was removed since the list. */
export function dockerSummaryOf(engine: Engine, c: ContainerSummary): Record<string, unknown> | undefined {
  try {
    const config = engine.containerInspect(c.id).config!;
    return dockerContainerSummary(c, {
      networkMode: config.networkMode,
      mounts: config.spec?.mounts ?? [],
      address: c.state?.status === 'running' ? engine.containerAddress(c.id) : undefined,
    });
  } catch {
    return undefined;
  }
}

async function inspectBody(engine: Engine, ref: string): Promise<Record<string, unknown>> {
  const r = noSuchContainer(ref, () => engine.containerInspect(ref));
  const c = r.container!;
  const address = c.state?.status === 'running' ? engine.containerAddress(c.id) : undefined;
  const imageId = c.labels['tswarm.engine.image-id'];
  const image = imageId ? await engine.images.inspect(imageId).catch(() => undefined) : undefined;
  return dockerContainerInspect(r, address, image ? imageDefaults(Buffer.from(image.configJson)) : undefined);
}

/**
 * A start that fails removes an auto-remove container, as dockerd does: `docker run --rm` waits
 * for its removal, which would otherwise never come.
 */
async function startOrRemove(engine: Engine, ref: string): Promise<void> {
  const c = noSuchContainer(ref, () => engine.containerInspect(ref)).container!;
  try {
    await engine.containerStart(c.id);
  } catch (err) {
    const state = engine.containerList({ all: true }).find((x) => x.id === c.id)?.state;
    if (c.labels['tswarm.engine.auto-remove'] === 'true' && state?.status !== 'running')
      await engine.containerRemove(c.id, { force: true, volumes: true }).catch(() => undefined);
    throw withDockerWording(err, state?.exitCode);
  }
}

/**
 * The docker CLI takes `run`'s exit code from the start error's words (127 for "executable file
 * not found" or "no such file or directory", 126 for "permission denied" or "is a directory",
 * matched case-sensitively): a command that could not run says it in those words.
 */
export function withDockerWording(err: unknown, exitCode: number | undefined): unknown {
  if (!(err instanceof TswarmError)) return err;
  const m = err.message;
  if (exitCode === EXIT_NOT_FOUND && !/executable file not found|no such file or directory/.test(m))
    return new TswarmError(err.code, `${m} (exec: executable file not found: no such file or directory)`);
  if (exitCode === EXIT_CANNOT_EXECUTE && !/permission denied|is a directory/.test(m))
    return new TswarmError(
      err.code,
      `${m} (exec: ${/is a directory/i.test(m) ? 'is a directory' : 'permission denied'})`,
    );
  return err;
}

function statusOf(engine: Engine, ref: string): string {
  return noSuchContainer(ref, () => engine.containerInspect(ref)).container?.state?.status ?? '';
}

/** `docker container prune`: every stopped container (matching `label` filters); the running stay. */
async function prune(engine: Engine, query: URLSearchParams): Promise<Record<string, unknown>> {
  const filters = filtersParam(query, ['label'] as const);
  const deleted: string[] = [];
  for (const c of engine.containerList({ all: true })) {
    if (c.state?.status === 'running' || !matchesContainerFilters(c, filters)) continue;
    try {
      await engine.containerRemove(c.id, {});
      deleted.push(c.id);
    } catch (err) {
      // Started or removed meanwhile: it is not this prune's to take.
      if (!(err instanceof TswarmError)) throw err;
    }
  }
  engine.containerPruned(0);
  return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
}

/** The container routes: create, lifecycle, list and inspect; logs, attach, stats, exec, top and rename in their modules. */
export function containerRoutes(ctx: ApiContext): Route[] {
  const engine = ctx.engine;
  return [
    {
      method: 'POST',
      path: '/containers/create',
      handler: async (req, reply) => {
        const name = req.query.get('name') ?? '';
        if (name.length > NAME_PARAM_CHARS_MAX)
          throw new TswarmError(
            'INVALID_ARGUMENT',
            `the container name is too long. Give at most ${NAME_PARAM_CHARS_MAX} characters`,
          );
        const { config, warnings } = containerConfigFromDocker(await req.json(), name);
        if (config.name !== '' && engine.containerList({ all: true }).some((c) => c.name === config.name))
          throw new TswarmError(
            'ALREADY_EXISTS',
            `Conflict. The container name "/${config.name}" is already in use. Remove that container or choose another name`,
          );
        await requireImage(engine, config.spec!.image);
        const created = await engine.containerCreate(config);
        reply.json(201, { Id: created.id, Warnings: [...warnings, ...created.warnings] });
      },
    },
    {
      method: 'GET',
      path: '/containers/json',
      handler: async (req, reply) => reply.json(200, await summaries(engine, req.query)),
    },
    {
      method: 'GET',
      path: '/containers/{id}/json',
      handler: async (req, reply) => reply.json(200, await inspectBody(engine, containerRef(req.params))),
    },
    {
      method: 'POST',
      path: '/containers/{id}/start',
      handler: async (req, reply) => {
        const ref = containerRef(req.params);
        if (statusOf(engine, ref) === 'running') return reply.empty(304);
        await startOrRemove(engine, ref);
        reply.empty(204);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/stop',
      handler: async (req, reply) => {
        const ref = containerRef(req.params);
        const timeoutMs = stopTimeoutMs(req.query);
        if (statusOf(engine, ref) !== 'running') return reply.empty(304);
        await engine.containerStop(ref, timeoutMs);
        reply.empty(204);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/restart',
      handler: async (req, reply) => {
        const ref = containerRef(req.params);
        const timeoutMs = stopTimeoutMs(req.query);
        if (statusOf(engine, ref) === 'running') await engine.containerStop(ref, timeoutMs);
        await startOrRemove(engine, ref);
        engine.containerEvent(ref, 'restart');
        reply.empty(204);
      },
    },
    {
      method: 'POST',
      path: '/containers/{id}/kill',
      handler: async (req, reply) => {
        const ref = containerRef(req.params);
        const signal = req.query.get('signal') || 'SIGKILL';
        if (signal.length > 32)
          throw new TswarmError(
            'INVALID_ARGUMENT',
            'the signal name is too long. Give a name such as SIGTERM or a number',
          );
        statusOf(engine, ref);
        await engine.containerKill(ref, signal);
        reply.empty(204);
      },
    },
    {
      method: 'DELETE',
      path: '/containers/{id}',
      handler: async (req, reply) => {
        const ref = containerRef(req.params);
        statusOf(engine, ref);
        await engine.containerRemove(ref, { force: boolParam(req.query, 'force'), volumes: boolParam(req.query, 'v') });
        reply.empty(204);
      },
    },
    {
      method: 'POST',
      path: '/containers/prune',
      handler: async (req, reply) => reply.json(200, await prune(engine, req.query)),
    },
    waitRoute(engine),
    topRoute(engine),
    renameRoute(engine),
    ...containerStreamRoutes(engine),
    ...execRoutes(engine),
  ];
}
