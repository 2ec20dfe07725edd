import { TswarmError } from '../../lib/errors.js';
import type { ContainerDiskUsage, ImagesDiskUsage, VolumeDiskUsage } from '../../engine/facade/disk-usage.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { dockerSummaryOf } from './containers.js';
import { dockerImageSummary, parseImageConfig } from './image-shapes.js';
import { versionAtLeast } from './versions.js';
import { dockerVolume } from './volumes.js';

/** What `GET /system/df` can be asked for (its `type` parameter, API 1.42+). */
export const DF_TYPES = ['container', 'image', 'volume', 'build-cache'] as const;
export type DfType = (typeof DF_TYPES)[number];

/**
 * The kinds to measure: every kind for a client older than 1.42 or one that names none, else
 * those named (`type` repeated); a kind Docker does not know is a 400 in dockerd's words.
 */
export function dfTypes(query: URLSearchParams, version: string): Set<DfType> {
  const asked = query.getAll('type');
  if (!versionAtLeast(version, '1.42') || !query.has('type')) return new Set(DF_TYPES);
  const out = new Set<DfType>();
  for (const t of asked) {
    if (!(DF_TYPES as readonly string[]).includes(t))
      throw new TswarmError('INVALID_ARGUMENT', `unknown object type: ${t.slice(0, 64)}`);
    out.add(t as DfType);
  }
  return out;
}

/** The measured parts, each undefined when not asked for; `images` with each image's Docker ImageSummary already made. */
export interface DfParts {
  images?: { layersBytes: number; summaries: Record<string, unknown>[] };
  containers?: Record<string, unknown>[];
  volumes?: VolumeDiskUsage[];
  buildCache: boolean;
}

/**
 * Docker's DiskUsage (API ≤ 1.51): `LayersSize`, then `Images`, `Containers`, `Volumes` (each
 * with `UsageData`) and `BuildCache` — tswarm builds no images, so an empty one. A kind not asked
 * for is null, as dockerd leaves it.
 */
export function dockerDiskUsage(p: DfParts): Record<string, unknown> {
  return {
    LayersSize: p.images?.layersBytes ?? 0,
    Images: p.images?.summaries ?? null,
    Containers: p.containers ?? null,
    Volumes:
      p.volumes?.map((v) => ({ ...dockerVolume(v.volume), UsageData: { Size: v.sizeBytes, RefCount: v.refCount } })) ??
      null,
    BuildCache: p.buildCache ? [] : null,
  };
}

/** Each image as `GET /images/json` shows it, with its measured Size, SharedSize and Containers. */
async function imageSummaries(ctx: ApiContext, usage: ImagesDiskUsage, version: string) {
  const out: Record<string, unknown>[] = [];
  for (const u of usage.images) {
    // The labels live in the config; an image removed meanwhile is left out.
    const inspected = await ctx.engine.images.inspect(u.image.id).catch(() => undefined);
    if (!inspected) continue;
    const summary = dockerImageSummary(u.image, parseImageConfig(inspected.configJson), version);
    out.push({
      ...summary,
      Size: u.sizeBytes,
      SharedSize: u.sharedBytes,
      Containers: u.containers,
      ...('VirtualSize' in summary ? { VirtualSize: u.sizeBytes } : {}),
    });
  }
  return out;
}

/** Each container as `GET /containers/json?size=1` shows it: SizeRw its changes, SizeRootFs with its image. */
function containerSummaries(ctx: ApiContext, usage: readonly ContainerDiskUsage[]): Record<string, unknown>[] {
  return usage.flatMap((u) => {
    const summary = dockerSummaryOf(ctx.engine, u.container);
    return summary ? [{ ...summary, SizeRw: u.sizeRwBytes, SizeRootFs: u.sizeRootFsBytes }] : [];
  });
}

/** `GET /system/df` (`docker system df [-v]`): what images, containers and volumes take, measured. */
export function systemDfRoute(ctx: ApiContext): Route {
  const usage = ctx.engine.diskUsage;
  return {
    method: 'GET',
    path: '/system/df',
    handler: async (req, reply) => {
      const types = dfTypes(req.query, req.version);
      const [images, containers, volumes] = await Promise.all([
        types.has('image') ? usage.images() : undefined,
        types.has('container') ? usage.containers() : undefined,
        types.has('volume') ? usage.volumes() : undefined,
      ]);
      const parts: DfParts = { buildCache: types.has('build-cache') };
      if (images)
        parts.images = { layersBytes: images.layersBytes, summaries: await imageSummaries(ctx, images, req.version) };
      if (containers) parts.containers = containerSummaries(ctx, containers);
      if (volumes) parts.volumes = volumes;
      reply.json(200, dockerDiskUsage(parts));
    },
  };
}
