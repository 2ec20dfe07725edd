import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { withEngine } from './engine-client.js';
import { collect, parseLabel } from './engine-flags.js';
import { humanBytes } from './engine-format.js';
import { checkBoolean, filterParser, labelMatches, matchesAll, type Filter } from './filters.js';
import type { Volume } from '../../gen/lite/tswarm/v1/engine.js';

export type VolumeFilter = Filter<'dangling' | 'name' | 'label'>;

export const parseVolumeFilter = filterParser(
  ['dangling', 'name', 'label'] as const,
  (f) => f.key === 'dangling' && checkBoolean(f),
);

/** Docker's volume filters: dangling (no container uses it), name (substring), label. */
export function volumeMatches(v: Volume, f: VolumeFilter): boolean {
  if (f.key === 'dangling') return (v.usedBy.length === 0) === (f.value === 'true');
  if (f.key === 'name') return v.name.includes(f.value);
  return labelMatches(v.labels, f.value);
}

export function registerVolume(program: Command, ctx: () => CliContext): void {
  const volume = program.command('volume').description('Manage the named volumes on this node');
  volume
    .command('create')
    .description('Create a volume (a random name when none is given)')
    .argument('[name]', 'the volume name')
    .option('-l, --label <key=value>', 'a label (repeatable)', collect(parseLabel))
    .action(async (name: string | undefined, opts: { label?: [string, string][] }) => {
      const c = ctx();
      const r = await withEngine(c, (e) =>
        e.call('volumeCreate', { name: name ?? '', labels: Object.fromEntries(opts.label ?? []) }),
      );
      c.out(`${r.volume?.name ?? name ?? ''}\n`);
    });
  volume
    .command('ls')
    .description('List volumes')
    .option('-q, --quiet', 'only show volume names')
    .option(
      '-f, --filter <key=value>',
      'dangling=true|false (used by no container), name=TEXT, label=KEY[=VALUE] (repeatable)',
      collect(parseVolumeFilter),
    )
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { quiet?: boolean; format?: string; filter?: VolumeFilter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const listed = await withEngine(c, (e) => e.call('volumeList', {}));
      const volumes = listed.volumes.filter((v) => matchesAll(v, opts.filter ?? [], volumeMatches));
      if (opts.quiet) c.out(volumes.map((v) => `${v.name}\n`).join(''));
      else if (format === 'json') c.out(formatJson(volumes));
      else
        c.out(
          formatTable(
            ['DRIVER', 'VOLUME NAME'],
            volumes.map((v) => [v.driver || 'local', v.name]),
          ),
        );
    });
  volume
    .command('inspect')
    .description('Show volumes as JSON')
    .argument('<name...>', 'volume names')
    .action(async (names: string[]) => {
      const c = ctx();
      const all = await withEngine(c, (e) => Promise.all(names.map((name) => e.call('volumeInspect', { name }))));
      c.out(formatJson(all.map((r) => r.volume)));
    });
  volume
    .command('rm')
    .description('Remove volumes (never one a container uses)')
    .option('-f, --force', 'do not fail on a volume that does not exist')
    .argument('<name...>', 'volume names')
    .action(async (names: string[], opts: { force?: boolean }) => {
      const c = ctx();
      await withEngine(c, async (e) => {
        for (const name of names) {
          await e.call('volumeRemove', { name, force: opts.force ?? false });
          c.out(`${name}\n`);
        }
      });
    });
  volume
    .command('prune')
    .description('Remove the anonymous volumes no container uses; with --all, every unused volume')
    .option('-a, --all', 'named volumes too, not only anonymous ones (as Docker 23 and later)')
    .option('-f, --force', 'accepted for Docker compatibility (tswarm never prompts)')
    .action(async (opts: { all?: boolean }) => {
      const c = ctx();
      const r = await withEngine(c, (e) => e.call('volumePrune', { all: opts.all ?? false }, 60_000));
      if (r.deleted.length > 0) c.out(`Deleted Volumes:\n${r.deleted.map((d) => `${d}\n`).join('')}\n`);
      c.out(`Total reclaimed space: ${humanBytes(r.reclaimedBytes)}\n`);
    });
}
