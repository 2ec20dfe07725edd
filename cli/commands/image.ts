import { createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiClient } from '../../lib/api-client/client.js';
import { TswarmError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { collect } from './engine-flags.js';
import { humanBytes, shortImageId } from './engine-format.js';
import type { ProgressMessage } from './engine-progress.js';
import { checkBoolean, filterParser, filtersQuery, type Filter } from './filters.js';
import {
  deleteLines,
  imagePath,
  imageRows,
  tagTarget,
  type DockerImageDeleteItem,
  type DockerImageSummary,
} from './image-format.js';
import { addCommit, addHistory, addPush, addSave } from './image-lifecycle.js';
import { pullImage } from './image-pull.js';
import { inspectEach } from './inspect-each.js';

type Ctx = () => CliContext;

/** Pruning removes each unused image's layer directories: many files on a slow disk take a while. */
const IMAGE_PRUNE_DEADLINE_MS = 10 * 60_000;
/**
 * The daemon answers a load once it has read and unpacked the whole archive, so the first answer
 * waits for all of it: a multi-GB archive from a slow disk.
 */
const IMAGE_LOAD_DEADLINE_MS = 30 * 60_000;

function addPull(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Pull an image from a registry')
    .argument('<reference>', 'NAME[:TAG] or NAME@DIGEST, e.g. 127.0.0.1:5000/busybox:1')
    .action(async (reference: string) => {
      const c = ctx();
      // The daemon's stream ends with Docker's `Digest: …` and `Status: …` lines.
      await pullImage(c.api(), reference, c.out, process.stdout.isTTY === true);
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
      'dangling=true|false, reference=PATTERN (repo or repo:tag, * and ? as in a shell), label=KEY[=VALUE] (repeatable)',
      collect(parseImageFilter),
    )
    .option('--format <format>', 'output format: table or json')
    .action(async (opts: { quiet?: boolean; format?: string; filter?: ImageFilter[] }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const images = await c
        .api()
        .json<DockerImageSummary[]>('GET', '/images/json', { query: { filters: filtersQuery(opts.filter ?? []) } });
      if (opts.quiet) c.out([...new Set(images.map((i) => shortImageId(i.Id)))].map((id) => `${id}\n`).join(''));
      else if (format === 'json') c.out(formatJson(images));
      else c.out(formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], imageRows(images)));
    });
}

/** The filters of GET /images/json; the daemon applies them, as dockerd does for `docker images`. */
export type ImageFilter = Filter<'dangling' | 'reference' | 'label'>;

export const parseImageFilter = filterParser(
  ['dangling', 'reference', 'label'] as const,
  (f) => f.key === 'dangling' && checkBoolean(f),
);

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

/** POST /images/load with the archive as the body; the daemon's `stream` lines name what it loaded. */
async function loadArchive(
  api: ApiClient,
  source: AsyncIterable<Buffer>,
  write: (text: string) => void,
): Promise<void> {
  for await (const m of api.jsonStream<ProgressMessage>('POST', '/images/load', {
    body: source,
    contentType: 'application/x-tar',
    timeoutMs: IMAGE_LOAD_DEADLINE_MS,
  })) {
    const error = m.errorDetail?.message ?? m.error;
    if (error) throw new TswarmError('INTERNAL', error);
    if (m.stream) write(m.stream);
  }
}

async function removeAll(c: CliContext, refs: string[], force: boolean): Promise<void> {
  const failures: string[] = [];
  let first: unknown;
  for (const reference of refs) {
    try {
      const items = await c
        .api()
        .json<DockerImageDeleteItem[]>('DELETE', `/images/${imagePath(reference)}`, { query: { force } });
      c.out(deleteLines(items));
    } catch (err) {
      first ??= err;
      failures.push(`${reference}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Like docker rmi: every image is tried; the command fails if any could not be removed.
  if (failures.length === 1) throw first;
  if (failures.length > 1)
    throw new TswarmError('CONFLICT', `${failures.length} images were not removed: ${failures.join('; ')}`);
}

function addTag(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Give an image another name (TARGET refers to SOURCE)')
    .argument('<source>', 'the image, by name, ID or digest')
    .argument('<target>', 'the new name, NAME[:TAG] (the tag defaults to latest)')
    .action(async (source: string, target: string) => {
      const { repo, tag } = tagTarget(target);
      await ctx()
        .api()
        .json('POST', `/images/${imagePath(source)}/tag`, { query: { repo, tag } });
    });
}

export function registerImage(program: Command, ctx: Ctx): void {
  const image = program.command('image').description('Manage the images on this node');
  addPull(image, 'pull', ctx);
  addList(image, 'ls', ctx);
  addTag(image, 'tag', ctx);
  addPush(image, 'push', ctx);
  addSave(image, 'save', ctx);
  addHistory(image, 'history', ctx);
  image
    .command('load')
    .description('Load images from a `docker save` or OCI archive (plain or compressed)')
    .option('-i, --input <file>', 'read the archive from FILE instead of stdin')
    .action(async (opts: { input?: string }) => {
      // The archive is checked before any traffic: a wrong path is said even with no daemon.
      const source = archiveSource(opts.input);
      const c = ctx();
      await loadArchive(c.api(), source, c.out);
    });
  image
    .command('inspect')
    .description('Show images’ details and config as JSON, as docker image inspect')
    .argument('<reference...>', 'images by name, ID or digest')
    .action(async (refs: string[]) => {
      const c = ctx();
      await inspectEach(
        refs,
        (reference) => c.api().json<unknown>('GET', `/images/${imagePath(reference)}/json`),
        (found) => c.out(formatJson(found)),
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
      // As docker image prune -a: dangling=false widens the prune to tagged images.
      const filters = filtersQuery(opts.all ? [{ key: 'dangling', value: 'false' }] : []);
      const r = await c
        .api()
        .json<{ ImagesDeleted: DockerImageDeleteItem[] | null; SpaceReclaimed: number }>('POST', '/images/prune', {
          query: { filters },
          timeoutMs: IMAGE_PRUNE_DEADLINE_MS,
        });
      const deleted = r.ImagesDeleted ?? [];
      if (deleted.length > 0) c.out(`Deleted Images:\n${deleteLines(deleted, true)}\n`);
      c.out(`Total reclaimed space: ${humanBytes(r.SpaceReclaimed)}\n`);
    });
  // Docker's top-level shortcuts.
  addPull(program, 'pull', ctx);
  addList(program, 'images', ctx);
  addTag(program, 'tag', ctx);
  addPush(program, 'push', ctx);
  addSave(program, 'save', ctx);
  addHistory(program, 'history', ctx);
  addCommit(program, 'commit', ctx);
}
