import { TswarmError, asTswarmError } from '../../lib/errors.js';
import type { RunConfig } from '../../engine/image/commit/changes.js';
import { familiarReference, formatReference, parseReference } from '../../engine/image/reference.js';
import { credentialsFromAuth, decodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import type { PushProgress } from '../../engine/image/registry/push.js';
import { JSON_BODY_BYTES_MAX } from './body.js';
import { shortLayerId } from './image-shapes.js';
import { imageName } from './images.js';
import { boolParam, containerRef } from './params.js';
import type { Reply } from './reply.js';
import type { ApiRequest, Route } from './router.js';
import type { ApiContext } from './routes.js';

/** The container config fields a commit body may set (Docker's POST /commit body), with their JSON kinds. */
const OVERRIDE_FIELDS: Record<string, 'string' | 'array' | 'object'> = {
  Cmd: 'array',
  Entrypoint: 'array',
  Env: 'array',
  WorkingDir: 'string',
  User: 'string',
  Labels: 'object',
  ExposedPorts: 'object',
  Volumes: 'object',
  StopSignal: 'string',
};

/** The commit body: a container config, or `null`/nothing (what the docker CLI sends); unknown fields ignored. */
export function commitOverrides(raw: Buffer): RunConfig | undefined {
  const text = raw.toString('utf8').trim();
  if (text === '' || text === 'null') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TswarmError('INVALID_ARGUMENT', `invalid JSON in the commit body: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new TswarmError('INVALID_ARGUMENT', 'the commit body must be a container config (a JSON object)');
  const out: RunConfig = {};
  for (const [name, kind] of Object.entries(OVERRIDE_FIELDS)) {
    const value = (doc as Record<string, unknown>)[name];
    // Docker's zero values (empty string, null list) mean "not set": the container's value stays.
    if (value === undefined || value === null || value === '') continue;
    const actual = Array.isArray(value) ? 'array' : typeof value;
    if (actual !== kind)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `${name} must be ${kind === 'array' ? 'an array' : `a ${kind}`}, not ${actual}`,
      );
    if (kind === 'array' && (value as unknown[]).length === 0) continue;
    out[name] = value;
  }
  return out;
}

/** `repo` and `tag` of a commit or push as one reference; undefined without a repo. */
function referenceOf(repo: string | null, tag: string | null): string | undefined {
  if (!repo) return undefined;
  return formatReference(parseReference(tag ? `${repo}:${tag}` : repo));
}

async function commit(ctx: ApiContext, req: ApiRequest, reply: Reply): Promise<void> {
  const container = containerRef({ id: req.query.get('container') ?? '' });
  const reference = referenceOf(req.query.get('repo'), req.query.get('tag'));
  if (!reference && req.query.get('tag'))
    throw new TswarmError('INVALID_ARGUMENT', 'a tag was given without a repository. Give REPO[:TAG]');
  const overrides = commitOverrides(await req.body(JSON_BODY_BYTES_MAX));
  const image = await ctx.engine.containerCommit(container, {
    ...(reference ? { reference } : {}),
    ...(overrides ? { overrides } : {}),
    changes: req.query
      .getAll('changes')
      .flatMap((c) => c.split('\n'))
      .filter((c) => c.trim() !== ''),
    comment: req.query.get('comment') ?? '',
    author: req.query.get('author') ?? '',
    // Docker pauses unless told not to (pause=0).
    pause: req.query.get('pause') === null || boolParam(req.query, 'pause'),
  });
  reply.json(201, { Id: image.id });
}

function line(msg: Record<string, unknown>): string {
  return JSON.stringify(msg) + '\r\n';
}

function pushMessage(p: PushProgress): Record<string, unknown> {
  const id = shortLayerId(p.digest);
  if (p.status === 'Pushing')
    return { status: 'Pushing', progressDetail: { current: p.currentBytes ?? 0, total: p.totalBytes ?? 0 }, id };
  return { status: p.status, progressDetail: {}, id };
}

/**
 * POST /images/{name}/push: Docker's JSON progress stream. A name the node lacks is a plain 404;
 * once the stream has started, a failure is an `errorDetail` line, as dockerd sends.
 */
async function push(ctx: ApiContext, req: ApiRequest, reply: Reply): Promise<void> {
  const name = imageName(req.params['name']);
  // As given, not normalized: a name without a registry host is refused, not pushed to Docker Hub.
  const tag = req.query.get('tag');
  const ref = tag ? `${name}:${tag}` : name;
  const parsed = parseReference(ref);
  await ctx.engine.images.inspect(ref); // a missing image is refused before the stream starts
  const credentials = credentialsFromAuth(decodeRegistryAuth(req.headers['x-registry-auth']));
  const sink = reply.stream(200, 'application/json');
  // Writes are chained so the lines keep their order; a client that went away drops them.
  let writes = Promise.resolve();
  const send = (msg: Record<string, unknown>) => {
    writes = writes.then(() => sink.write(line(msg))).catch(() => undefined);
    return writes;
  };
  await send({
    status: `The push refers to repository [${familiarReference(`${parsed.registry}/${parsed.repository}`)}]`,
  });
  try {
    const r = await ctx.engine.images.push(ref, {
      onProgress: (p) => void send(pushMessage(p)),
      ...(credentials ? { credentials } : {}),
    });
    await send({ status: `${r.tag}: digest: ${r.digest} size: ${r.sizeBytes}` });
    await send({ progressDetail: {}, aux: { Tag: r.tag, Digest: r.digest, Size: r.sizeBytes } });
  } catch (err) {
    const message = asTswarmError(err).message;
    await send({ errorDetail: { message }, error: message });
  }
  sink.end();
}

/** GET /images/get?names=… and /images/{name}/get: a `docker save` archive, streamed. */
async function save(ctx: ApiContext, req: ApiRequest, refs: string[], reply: Reply): Promise<void> {
  if (refs.length === 0)
    throw new TswarmError('INVALID_ARGUMENT', 'no image to save. Give at least one, e.g. names=busybox');
  const archive = await ctx.engine.images.save(refs.map((r) => imageName(r)));
  const sink = reply.stream(200, 'application/x-tar');
  try {
    for await (const chunk of archive) {
      if (sink.closed.aborted) break;
      await sink.write(chunk);
    }
  } catch (err) {
    // The archive is cut short; the client sees a truncated tar, which no loader accepts.
    req.log.warn({ err }, 'image save failed mid-stream');
  }
  sink.end();
}

/** Commit, push, save and history: making images out of containers and moving them off the node. */
export function imageLifecycleRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'POST', path: '/commit', handler: (req, reply) => commit(ctx, req, reply) },
    { method: 'POST', path: '/images/{name*}/push', handler: (req, reply) => push(ctx, req, reply) },
    { method: 'GET', path: '/images/get', handler: (req, reply) => save(ctx, req, req.query.getAll('names'), reply) },
    {
      method: 'GET',
      path: '/images/{name*}/get',
      handler: (req, reply) => save(ctx, req, [req.params['name'] ?? ''], reply),
    },
    {
      method: 'GET',
      path: '/images/{name*}/history',
      handler: async (req, reply) => reply.json(200, await ctx.engine.images.history(imageName(req.params['name']))),
    },
  ];
}
