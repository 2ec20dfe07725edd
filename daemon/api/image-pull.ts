import type { ImageSummary } from '../../gen/tswarm/v1/engine.js';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { LatestPerLayer } from '../../engine/facade/progress-queue.js';
import { familiarReference, formatReference, parseReference } from '../../engine/image/reference.js';
import { credentialsFromAuth, decodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import { boundedChunks } from './body.js';
import { pullProgressMessage } from './image-shapes.js';
import type { Sink } from './reply.js';
import type { ApiRequest, Route } from './router.js';
import type { ApiContext } from './routes.js';

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
  const credentials = credentialsFromAuth(decodeRegistryAuth(req.headers['x-registry-auth']));
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
