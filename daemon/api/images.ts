import { TswarmError } from '../../lib/errors.js';
import { requireText } from '../../engine/facade/validate.js';
import {
  dockerImageInspect,
  dockerImageSummary,
  imageMatches,
  parseImageConfig,
  withMatchingReferences,
} from './image-shapes.js';
import { imageStreamRoutes } from './image-pull.js';
import { imageLifecycleRoutes } from './image-lifecycle.js';
import { booleanFilter, parseFilters } from './list-filters.js';
import { boolParam } from './params.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';

const IMAGE_LIST_FILTERS = ['dangling', 'reference', 'label'];
const IMAGE_PRUNE_FILTERS = ['dangling'];

/**
 * The image name of a path, checked as the engine's references are (`{name*}` may be anything):
 * a name too long or with whitespace is named as such, not looked up.
 */
export function imageName(name: string | undefined): string {
  return requireText('the image reference', name ?? '');
}

/**
 * The images of this node in Docker's shapes: list, inspect, tag, remove, prune, and (in
 * image-pull.ts) pull and load. An image's name in a path may span segments
 * (`/images/192.168.77.5:5000/lab/busybox:1/json`).
 */
export function imageRoutes(ctx: ApiContext): Route[] {
  const images = ctx.engine.images;
  return [
    ...imageStreamRoutes(ctx),
    ...imageLifecycleRoutes(ctx),
    {
      method: 'GET',
      path: '/images/json',
      handler: async (req, reply) => {
        const filters = parseFilters(req.query.get('filters'), IMAGE_LIST_FILTERS);
        const dangling = booleanFilter(filters, 'dangling');
        const out: Record<string, unknown>[] = [];
        for (const image of await images.list()) {
          // The labels live in the config; an image removed meanwhile is left out.
          const inspected = await images.inspect(image.id).catch(() => undefined);
          if (!inspected) continue;
          const doc = parseImageConfig(inspected.configJson);
          if (imageMatches(image, doc, filters, dangling))
            out.push(dockerImageSummary(withMatchingReferences(image, filters), doc, req.version));
        }
        reply.json(200, out);
      },
    },
    {
      method: 'POST',
      path: '/images/prune',
      handler: async (req, reply) => {
        const filters = parseFilters(req.query.get('filters'), IMAGE_PRUNE_FILTERS);
        // dangling=false is `image prune -a`: every unused image, tagged or not.
        const all = booleanFilter(filters, 'dangling') === false;
        const r = await images.prune({ all });
        reply.json(200, {
          ImagesDeleted: r.deleted.length > 0 ? r.deleted.map((id) => ({ Deleted: id })) : null,
          SpaceReclaimed: Number(r.reclaimedBytes),
        });
      },
    },
    {
      method: 'GET',
      path: '/images/{name*}/json',
      handler: async (req, reply) =>
        reply.json(200, dockerImageInspect(await images.inspect(imageName(req.params['name'])), req.version)),
    },
    {
      method: 'POST',
      path: '/images/{name*}/tag',
      handler: async (req, reply) => {
        const repo = req.query.get('repo');
        if (!repo) throw new TswarmError('INVALID_ARGUMENT', 'repo is missing. Give the new name, e.g. repo=lab/app');
        const tag = req.query.get('tag');
        await images.tag(imageName(req.params['name']), tag ? `${repo}:${tag}` : repo);
        reply.empty(201);
      },
    },
    {
      method: 'DELETE',
      path: '/images/{name*}',
      handler: async (req, reply) => {
        const r = await images.remove(imageName(req.params['name']), { force: boolParam(req.query, 'force') });
        reply.json(200, [...r.untagged.map((t) => ({ Untagged: t })), ...r.deleted.map((id) => ({ Deleted: id }))]);
      },
    },
  ];
}
