import type { Volume } from '../../gen/tswarm/v1/engine.js';
import { TswarmError } from '../../lib/errors.js';
import { validateLabels, validateVolumeName } from '../../engine/facade/validate.js';
import { field, stringMap } from './body.js';
import { booleanFilter, matchesLabels, parseFilters, type Filters } from './list-filters.js';
import { boolParam } from './params.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { isoTime } from './swarm-shapes.js';

const VOLUME_LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const VOLUME_PRUNE_FILTERS = ['all', 'label'];

/** Docker's `Volume`: every volume is the `local` driver's, on this node. */
export function dockerVolume(v: Volume): Record<string, unknown> {
  return {
    Name: v.name,
    Driver: v.driver || 'local',
    Mountpoint: v.mountpoint,
    CreatedAt: isoTime(Number(v.createdAtMs)),
    Labels: v.labels,
    Scope: 'local',
    Options: null,
  };
}

/** The `dangling`, `driver`, `label` and `name` (substring, as Docker) filters of `GET /volumes`. */
export function volumeMatches(v: Volume, filters: Filters): boolean {
  const dangling = booleanFilter(filters, 'dangling');
  if (dangling !== undefined && (v.usedBy.length === 0) !== dangling) return false;
  const drivers = filters.get('driver');
  if (drivers && drivers.length > 0 && !drivers.includes(v.driver || 'local')) return false;
  const names = filters.get('name');
  if (names && names.length > 0 && !names.some((n) => v.name.includes(n))) return false;
  return matchesLabels(v.labels, filters.get('label'));
}

/** The body of POST /volumes/create, checked: only the `local` driver, without options. */
export function volumeCreateRequest(body: Record<string, unknown>): { name: string; labels: Record<string, string> } {
  const name = field(body, 'Name', 'string') ?? '';
  const driver = field(body, 'Driver', 'string') ?? '';
  if (driver !== '' && driver !== 'local')
    throw new TswarmError('INVALID_ARGUMENT', `volume driver "${driver}" is not supported. Use the local driver`);
  const opts = stringMap(body, 'DriverOpts') ?? {};
  if (Object.keys(opts).length > 0)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `volume driver options (${Object.keys(opts).join(', ')}) are not supported. Create the volume without --opt`,
    );
  if (field(body, 'ClusterVolumeSpec', 'object') !== undefined)
    throw new TswarmError('INVALID_ARGUMENT', 'cluster volumes are not supported. Create a local volume');
  const labels = stringMap(body, 'Labels') ?? {};
  validateVolumeName(name, true);
  validateLabels(labels);
  return { name, labels };
}

function volumeName(name: string | undefined): string {
  validateVolumeName(name ?? '');
  return name!;
}

/** This node's volumes in Docker's shapes (the `local` driver). */
export function volumeRoutes(ctx: ApiContext): Route[] {
  const engine = ctx.engine;
  return [
    {
      method: 'POST',
      path: '/volumes/create',
      handler: async (req, reply) => {
        const { name, labels } = volumeCreateRequest(await req.json());
        reply.json(201, dockerVolume(await engine.volumeCreate(name, labels)));
      },
    },
    {
      method: 'GET',
      path: '/volumes',
      handler: async (req, reply) => {
        const filters = parseFilters(req.query.get('filters'), VOLUME_LIST_FILTERS);
        const volumes = (await engine.volumeList()).filter((v) => volumeMatches(v, filters));
        reply.json(200, { Volumes: volumes.map(dockerVolume), Warnings: [] });
      },
    },
    {
      method: 'POST',
      path: '/volumes/prune',
      handler: async (req, reply) => {
        const filters = parseFilters(req.query.get('filters'), VOLUME_PRUNE_FILTERS);
        if ((filters.get('label') ?? []).length > 0)
          throw new TswarmError('UNIMPLEMENTED', 'volume prune by label is not supported yet. Remove volumes by name');
        // As Docker 23: only anonymous volumes, unless all=true.
        const r = await engine.volumePrune({ all: booleanFilter(filters, 'all') === true });
        reply.json(200, { VolumesDeleted: r.deleted, SpaceReclaimed: Number(r.reclaimedBytes) });
      },
    },
    {
      method: 'GET',
      path: '/volumes/{name}',
      handler: async (req, reply) =>
        reply.json(200, dockerVolume(await engine.volumeInspect(volumeName(req.params['name'])))),
    },
    {
      method: 'DELETE',
      path: '/volumes/{name}',
      handler: async (req, reply) => {
        await engine.volumeRemove(volumeName(req.params['name']), boolParam(req.query, 'force'));
        reply.empty(204);
      },
    },
  ];
}
