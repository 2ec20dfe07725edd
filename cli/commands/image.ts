import { createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import type { ImageSummary } from '../../gen/lite/tswarm/v1/engine.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { inspectEach, withEngine, SLOW_CALL_DEADLINE_MS, type EngineClient } from './engine-client.js';
import { humanBytes, imageRows, shortImageId } from './engine-format.js';
import { PullProgress } from './engine-progress.js';
import { collect } from './engine-flags.js';
import { checkBoolean, filterParser, globMatches, matchesAll, type Filter } from './filters.js';

type Ctx = () => CliContext;

/** Pulls with progress on `write` (redrawn lines when `tty`); resolves to the pulled image. */
export async function pullImage(
  engine: EngineClient,
  reference: string,
  write: (text: string) => void,
  tty: boolean,
): Promise<ImageSummary> {
  const progress = new PullProgress(write, tty);
  let image: ImageSummary | undefined;
  for await (const m of engine.stream('imagePull', { reference, platform: undefined })) {
    for (const layer of m.layers) progress.update(layer);
    if (m.image) image = m.image;
  }
  progress.finish();
  if (!image)
    throw new TswarmError('INTERNAL', `the pull of ${reference} ended without naming the image. Retry the pull`);
  return image;
}

function addPull(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Pull an image from a registry')
    .argument('<reference>', 'NAME[:TAG] or NAME@DIGEST, e.g. 127.0.0.1:5000/busybox:1')
    .action(async (reference: string) => {
      const c = ctx();
      const image = await withEngine(c, (e) => pullImage(e, reference, c.out, process.stdout.isTTY === true));
      const digest = image.repoDigests[0]?.split('@')[1];
      if (digest) c.out(`Digest: ${digest}\n`);
      c.out(`Status: pulled ${image.repoTags[0] ?? reference}\n`);
    });
}

function addList(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('List the images on this node')
    .option('-a, --all', 'show all images (the same as the default: this node keeps no intermediate images)')
    .option('-q, --quiet', 'only show image IDs')
    .option(
      '-f, --filter <key=value>',
      'dangling=true|false, reference=PATTERN (repo or repo:tag, * and ? as in a shell) (repeatable)',
      collect(parseImageFilter),
    )
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { quiet?: boolean; format?: string; filter?: ImageFilter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const listed = await withEngine(c, (e) => e.call('imageList', { all: true, references: [] }));
      const images = listed.images.filter((i) => matchesAll(i, opts.filter ?? [], imageMatches));
      if (opts.quiet) c.out([...new Set(images.map((i) => shortImageId(i.id)))].map((id) => `${id}\n`).join(''));
      else if (format === 'json') c.out(formatJson(images));
      else c.out(formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], imageRows(images)));
    });
}

export type ImageFilter = Filter<'dangling' | 'reference'>;

export const parseImageFilter = filterParser(
  ['dangling', 'reference'] as const,
  (f) => f.key === 'dangling' && checkBoolean(f),
);

/** Docker's image filters: dangling (no tag), reference (a pattern over repo or repo:tag). */
export function imageMatches(i: ImageSummary, f: ImageFilter): boolean {
  if (f.key === 'dangling') return (i.repoTags.length === 0) === (f.value === 'true');
  return i.repoTags.some(
    (tag) => globMatches(tag, f.value) || globMatches(tag.slice(0, tag.lastIndexOf(':')), f.value),
  );
}

/** Refuses a terminal as the archive: a binary stream typed in by hand is always a mistake. */
function archiveSource(input: string | undefined): AsyncIterable<Buffer> {
  if (input) {
    let info;
    try {
      info = statSync(input);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `cannot read the archive ${input} (${code === 'ENOENT' ? 'no such file' : code}). Give the path of a docker save or OCI archive`,
      );
    }
    if (!info.isFile())
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `${input} is not a file. Give the path of a docker save or OCI archive (a .tar, plain or compressed)`,
      );
    return createReadStream(input);
  }
  if (process.stdin.isTTY)
    throw new TswarmError('USAGE', 'no archive given. Use -i FILE, or pipe the archive: tswarm image load < image.tar');
  return process.stdin;
}

async function removeAll(c: CliContext, refs: string[], force: boolean): Promise<void> {
  const failures: string[] = [];
  let first: unknown;
  await withEngine(c, async (e) => {
    for (const reference of refs) {
      try {
        const r = await e.call('imageRemove', { reference, force });
        for (const t of r.untagged) c.out(`Untagged: ${t}\n`);
        for (const d of r.deleted) c.out(`Deleted: ${d}\n`);
      } catch (err) {
        first ??= err;
        failures.push(`${reference}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  });
  // Like docker rmi: every image is tried; the command fails if any could not be removed.
  if (failures.length === 1) throw first;
  if (failures.length > 1)
    throw new TswarmError('CONFLICT', `${failures.length} images were not removed: ${failures.join('; ')}`);
}

export function registerImage(program: Command, ctx: Ctx): void {
  const image = program.command('image').description('Manage the images on this node');
  addPull(image, 'pull', ctx);
  addList(image, 'ls', ctx);
  image
    .command('load')
    .description('Load images from a `docker save` or OCI archive (plain or compressed)')
    .option('-i, --input <file>', 'read the archive from FILE instead of stdin')
    .action(async (opts: { input?: string }) => {
      const c = ctx();
      const source = archiveSource(opts.input);
      const { images } = await withEngine(c, (e) => e.load(source));
      for (const i of images)
        c.out(
          i.repoTags.length > 0 ? i.repoTags.map((t) => `Loaded image: ${t}\n`).join('') : `Loaded image ID: ${i.id}\n`,
        );
    });
  image
    .command('inspect')
    .description('Show an image’s details and config as JSON')
    .argument('<reference...>', 'images by name, ID or digest')
    .action(async (refs: string[]) => {
      const c = ctx();
      await inspectEach(
        c,
        refs,
        (e, reference) => e.call('imageInspect', { reference }),
        (found) => {
          c.out(
            formatJson(
              found.map((r) => ({
                ...r.image,
                config: JSON.parse(Buffer.from(r.configJson).toString('utf8')) as unknown,
                layers: r.layerDigests,
              })),
            ),
          );
        },
      );
    });
  image
    .command('rm')
    .description('Remove images (a tag untags; the last tag or the ID deletes)')
    .option('-f, --force', 'remove an image with several tags, or untag one a container uses')
    .argument('<reference...>', 'images by name, ID or digest')
    .action(async (refs: string[], opts: { force?: boolean }) => removeAll(ctx(), refs, opts.force ?? false));
  image
    .command('prune')
    .description('Remove images no container uses: untagged ones, or with -a all of them')
    .option('-a, --all', 'remove every image no container uses, not only untagged ones')
    .option('-f, --force', 'accepted for Docker compatibility (tswarm never prompts)')
    .action(async (opts: { all?: boolean }) => {
      const c = ctx();
      const r = await withEngine(c, (e) => e.call('imagePrune', { all: opts.all ?? false }, SLOW_CALL_DEADLINE_MS));
      if (r.deleted.length > 0) c.out(`Deleted Images:\n${r.deleted.map((d) => `deleted: ${d}\n`).join('')}\n`);
      c.out(`Total reclaimed space: ${humanBytes(r.reclaimedBytes)}\n`);
    });
  // Docker's top-level shortcuts.
  addPull(program, 'pull', ctx);
  addList(program, 'images', ctx);
}
