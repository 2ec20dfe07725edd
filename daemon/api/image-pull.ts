import type { ImageSummary } from '../../gen/tswarm/v1/engine.js';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { LatestPerLayer } from '../../engine/facade/progress-queue.js';
import { familiarReference, formatReference, parseReference } from '../../engine/image/reference.js';
import { boundedChunks } from './body.js';
import { pullProgressMessage } from './image-shapes.js';
import type { Sink } from './reply.js';
import type { ApiRequest, Route } from './router.js';
import type { ApiContext } from './routes.js';

/** X-Registry-Auth is base64url JSON of a few fields; anything larger is not credentials. */
const REGISTRY_AUTH_CHARS_MAX = 16 * 1024;

/** What X-Registry-Auth carries (moby's registry.AuthConfig). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/**
 * Decodes X-Registry-Auth: base64url (or plain base64) JSON. Absent, empty or `{}` (what the
 * docker CLI sends when it has no login) is undefined; a malformed header is INVALID_ARGUMENT.
 */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryAuth | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return undefined;
  if (raw.length > REGISTRY_AUTH_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header is too long. Log in again');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header is not base64url-encoded JSON. Log in again');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TswarmError('INVALID_ARGUMENT', 'the X-Registry-Auth header must encode a JSON object. Log in again');
  const auth: RegistryAuth = {};
  for (const k of ['username', 'password', 'serveraddress', 'identitytoken'] as const) {
    const v = (parsed as Record<string, unknown>)[k];
    if (typeof v === 'string' && v !== '') auth[k] = v;
  }
  return Object.keys(auth).length > 0 ? auth : undefined;
}

/**
 * The credentials a pull uses: the client's own (the docker CLI sends its stored login in
 * X-Registry-Auth), else none given here and the node's stored `tswarm login` applies. An
 * identity token alone (an OAuth refresh token from a credential helper) is refused: the engine
 * cannot exchange it yet, and the node's own login would pull as someone else.
 */
function pullCredentials(auth: RegistryAuth | undefined): { username: string; password: string } | undefined {
  if (auth?.username && auth.password) return { username: auth.username, password: auth.password };
  if (auth?.identitytoken)
    throw new TswarmError(
      'UNAUTHENTICATED',
      'X-Registry-Auth carries an identity token, which tswarm cannot use yet. Log in with a user name and password (docker login -u USER)',
    );
  return undefined;
}

/** The reference `fromImage` and `tag` name together: the tag may also be a digest. */
export function pullReference(fromImage: string | null, tag: string | null): string {
  if (!fromImage)
    throw new TswarmError('INVALID_ARGUMENT', 'fromImage is missing. Give the image to pull, e.g. fromImage=busybox');
  const name = tag ? (tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
  return formatReference(parseReference(name));
}

function platformOf(query: URLSearchParams): { os: string; architecture: string } | undefined {
  const p = query.get('platform');
  if (!p) return undefined;
  const [os = '', architecture = ''] = p.split('/');
  if (!os || !architecture)
    throw new TswarmError('INVALID_ARGUMENT', `invalid platform "${p}". Give OS/ARCH, e.g. linux/amd64`);
  return { os, architecture };
}

async function previousImageId(ctx: ApiContext, ref: string): Promise<string | undefined> {
  try {
    return (await ctx.engine.images.inspect(ref)).image?.id;
  } catch {
    return undefined;
  }
}

function line(msg: Record<string, unknown>): string {
  return JSON.stringify(msg) + '\r\n';
}

/**
 * POST /images/create: the engine's pull as Docker's JSON progress stream. The answer starts at
 * the first layer report, so a pull that fails before any (no such image, a refused login) is a
 * plain error with its HTTP status; a failure later is an `errorDetail` line, as dockerd sends.
 */
async function pull(ctx: ApiContext, req: ApiRequest, reply: Parameters<Route['handler']>[1]): Promise<void> {
  if (req.query.get('fromSrc'))
    throw new TswarmError('UNIMPLEMENTED', 'importing a root filesystem (fromSrc) is not supported. Use docker load');
  const ref = pullReference(req.query.get('fromImage'), req.query.get('tag'));
  const parsed = parseReference(ref);
  const platform = platformOf(req.query);
  const credentials = pullCredentials(decodeRegistryAuth(req.headers['x-registry-auth']));
  const before = await previousImageId(ctx, ref);
  let sink: Sink | undefined;
  let allCached = true;
  const open = async (): Promise<Sink> => {
    if (sink) return sink;
    sink = reply.stream(200, 'application/json');
    await sink.write(line({ status: `Pulling from ${parsed.repository}`, id: parsed.digest ?? parsed.tag ?? '' }));
    return sink;
  };
  // A layer's first report is Docker's "Pulling fs layer"; a later wait (for another pull of the blob) is "Waiting".
  const announced = new Set<string>();
  const progress = new LatestPerLayer(async (p) => {
    if (p.status !== 'already exists' && p.status !== 'waiting') allCached = false;
    const first = !announced.has(p.digest);
    announced.add(p.digest);
    const msg = pullProgressMessage(p);
    if (first && p.status === 'waiting') msg['status'] = 'Pulling fs layer';
    await (await open()).write(line(msg));
  });
  let image: ImageSummary;
  try {
    image = await ctx.engine.images.pull(ref, {
      onProgress: (p) => progress.offer(p),
      ...(platform ? { platform } : {}),
      ...(credentials ? { credentials } : {}),
    });
    await progress.flushed();
  } catch (err) {
    await progress.flushed();
    if (!sink) throw err;
    const message = asTswarmError(err).message;
    await sink.write(line({ errorDetail: { message }, error: message })).catch(() => undefined);
    sink.end();
    return;
  }
  const out = await open();
  const repo = `${familiarReference(`${parsed.registry}/${parsed.repository}`)}@`;
  const digest = image.repoDigests.find((d) => d.startsWith(repo))?.slice(repo.length);
  const name = familiarReference(ref);
  const upToDate = before === image.id && allCached;
  try {
    if (digest) await out.write(line({ status: `Digest: ${digest}` }));
    await out.write(
      line({
        status: upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}`,
      }),
    );
  } catch {
    // the client went away; the image is pulled all the same
  }
  out.end();
}

/** `docker load` of a multi-gigabyte image is normal; beyond this a client is broken or hostile. */
export const LOAD_BYTES_MAX = 16 * 1024 * 1024 * 1024;

/** POST /images/load: a `docker save` or OCI archive streamed into the engine; one line per image loaded. */
async function load(ctx: ApiContext, req: ApiRequest, reply: Parameters<Route['handler']>[1]): Promise<void> {
  const images = await ctx.engine.images.load(
    boundedChunks(req.bodyStream(), {
      bytesMax: LOAD_BYTES_MAX,
      what: 'archive',
      tooLarge: `the archive is larger than ${LOAD_BYTES_MAX} bytes. Load a smaller archive, or pull the image from a registry`,
    }),
  );
  const sink = reply.stream(200, 'application/json');
  try {
    for (const image of images) {
      const names = image.repoTags.length > 0 ? image.repoTags.map((t) => `Loaded image: ${t}`) : [];
      if (names.length === 0) names.push(`Loaded image ID: ${image.id}`);
      for (const n of names) await sink.write(line({ stream: `${n}\n` }));
    }
  } catch {
    // the client went away; the images are loaded all the same
  }
  sink.end();
}

/** Pull and load: the image routes whose answer is a JSON stream. */
export function imageStreamRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'POST', path: '/images/create', handler: (req, reply) => pull(ctx, req, reply) },
    { method: 'POST', path: '/images/load', handler: (req, reply) => load(ctx, req, reply) },
  ];
}
