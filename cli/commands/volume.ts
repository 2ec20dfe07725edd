import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { collect, parseLabel } from './engine-flags.js';
import { humanBytes } from './engine-format.js';
import { checkBoolean, filterParser, filtersQuery, type Filter } from './filters.js';
import { eachRef } from './each-ref.js';
import { inspectEach } from './inspect-each.js';

/** Removing many unused volumes deletes all their files: a while on a slow disk. */
const VOLUME_PRUNE_DEADLINE_MS = 60_000;

/** Docker's `Volume` (GET /volumes/{name}), the fields the CLI reads. */
export interface DockerVolume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
}

/** The filters of GET /volumes; the daemon applies them, as dockerd does for `docker volume ls`. */
export type VolumeFilter = Filter<'dangling' | 'driver' | 'name' | 'label'>;

export const parseVolumeFilter = filterParser(
  ['dangling', 'driver', 'name', 'label'] as const,
  (f) => f.key === 'dangling' && checkBoolean(f),
);

const volumePath = (name: string) => `/volumes/${encodeURIComponent(name)}`;

export function registerVolume(program: Command, ctx: () => CliContext): void {
  const volume = program.command('volume').description('Manage the named volumes on this node');
  volume
    .command('create')
    .description('Create a volume (a random name when none is given)')
    .argument('[name]', 'the volume name')
    .option('-l, --label <key=value>', 'a label (repeatable)', collect(parseLabel))
    .action(async (name: string | undefined, opts: { label?: [string, string][] }) => {
      const c = ctx();
      const created = await c.api().json<DockerVolume>('POST', '/volumes/create', {
        json: { Name: name ?? '', Labels: Object.fromEntries(opts.label ?? []) },
      });
      c.out(`${created.Name}\n`);
    });
  volume
    .command('ls')
    .description('List volumes')
    .option('-q, --quiet', 'only show volume names')
    .option(
      '-f, --filter <key=value>',
      'dangling=true|false (used by no container), driver=local, name=TEXT, label=KEY[=VALUE] (repeatable)',
      collect(parseVolumeFilter),
    )
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { quiet?: boolean; format?: string; filter?: VolumeFilter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const listed = await c.api().json<{ Volumes: DockerVolume[] | null }>('GET', '/volumes', {
        query: { filters: filtersQuery(opts.filter ?? []) },
      });
      const volumes = listed.Volumes ?? [];
      if (opts.quiet) c.out(volumes.map((v) => `${v.Name}\n`).join(''));
      else if (format === 'json') c.out(formatJson(volumes));
      else
        c.out(
          formatTable(
            ['DRIVER', 'VOLUME NAME'],
            volumes.map((v) => [v.Driver || 'local', v.Name]),
          ),
        );
    });
  volume
    .command('inspect')
    .description('Show volumes as JSON, as docker volume inspect')
    .argument('<name...>', 'volume names')
    .action(async (names: string[]) => {
      const c = ctx();
      await inspectEach(
        names,
        (name) => c.api().json<DockerVolume>('GET', volumePath(name)),
        (found) => c.out(formatJson(found)),
      );
    });
  volume
    .command('rm')
    .description('Remove volumes (never one a container uses)')
    .option('-f, --force', 'do not fail on a volume that does not exist')
    .argument('<name...>', 'volume names')
    .action(async (names: string[], opts: { force?: boolean }) => {
      const c = ctx();
      const api = c.api();
      await eachRef(
        names,
        'volumes',
        async (name) => void (await api.json('DELETE', volumePath(name), { query: { force: opts.force ?? false } })),
        (t) => c.out(t),
      );
    });
  volume
    .command('prune')
    .description('Remove the anonymous volumes no container uses; with --all, every unused volume')
    .option('-a, --all', 'named volumes too, not only anonymous ones (as Docker 23 and later)')
    .option('-f, --force', 'accepted for Docker compatibility (tswarm never prompts)')
    .action(async (opts: { all?: boolean }) => {
      const c = ctx();
      // As docker volume prune -a: the all=true filter widens the prune to named volumes.
      const filters = filtersQuery(opts.all ? [{ key: 'all', value: 'true' }] : []);
      const r = await c
        .api()
        .json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', {
          query: { filters },
          timeoutMs: VOLUME_PRUNE_DEADLINE_MS,
        });
      const deleted = r.VolumesDeleted ?? [];
      if (deleted.length > 0) c.out(`Deleted Volumes:\n${deleted.map((d) => `${d}\n`).join('')}\n`);
      c.out(`Total reclaimed space: ${humanBytes(r.SpaceReclaimed)}\n`);
    });
}
