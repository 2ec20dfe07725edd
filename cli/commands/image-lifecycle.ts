/** Commit, push, save and history: the commands that make images from containers and move them off the node. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import type { HistoryItem as DockerHistoryItem } from '../../engine/image/history.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTable, parseFormat } from '../output.js';
import { collect } from './engine-flags.js';
import { ago, humanBytes, shortImageId } from './engine-format.js';
import { PullProgress, type ProgressMessage } from './engine-progress.js';
import { imagePath, tagTarget } from './image-format.js';

type Ctx = () => CliContext;

/** A commit reads the whole of a container's changes and writes them compressed: large ones take a while. */
const COMMIT_DEADLINE_MS = 30 * 60_000;
/** A push's first answer comes once the image is found; the stream then lasts as long as the uploads. */
const PUSH_START_DEADLINE_MS = 60_000;
const SAVE_START_DEADLINE_MS = 60_000;

/** `docker history` rows: IMAGE, CREATED, CREATED BY (cut at 45 characters unless --no-trunc), SIZE, COMMENT. */
export function historyRows(items: readonly DockerHistoryItem[], noTrunc: boolean, nowMs = Date.now()): string[][] {
  return items.map((h) => {
    const by = h.CreatedBy.replace(/\s+/g, ' ');
    return [
      h.Id.startsWith('sha256:') && !noTrunc ? shortImageId(h.Id) : h.Id,
      ago(h.Created * 1000, nowMs),
      noTrunc || by.length <= 45 ? by : `${by.slice(0, 44)}…`,
      humanBytes(h.Size),
      h.Comment,
    ];
  });
}

export function addCommit(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description("Create a new image from a container's changes")
    .argument('<container>', 'the container, by name or ID')
    .argument('[repository]', 'the new image’s name, REPO[:TAG]')
    .option('-a, --author <author>', 'author (e.g. "Jane Doe <jane@example.com>")')
    .option(
      '-c, --change <instruction>',
      'a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR (repeatable)',
      collect((v: string) => v),
    )
    .option('-m, --message <message>', 'commit message')
    .option('--no-pause', 'do not pause the container while committing')
    .action(
      async (
        container: string,
        repository: string | undefined,
        opts: { author?: string; change?: string[]; message?: string; pause: boolean },
      ) => {
        const target = repository ? tagTarget(repository) : undefined;
        const c = ctx();
        const r = await c.api().json<{ Id: string }>('POST', '/commit', {
          query: {
            container,
            repo: target?.repo,
            tag: target?.tag,
            comment: opts.message,
            author: opts.author,
            pause: opts.pause,
            // One `changes` of newline-separated instructions: the daemon splits it.
            changes: opts.change && opts.change.length > 0 ? opts.change.join('\n') : undefined,
          },
          timeoutMs: COMMIT_DEADLINE_MS,
        });
        c.out(`${r.Id}\n`);
      },
    );
}

export function addPush(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Push an image to the registry its name says')
    .argument('<name>', 'REGISTRY/REPO[:TAG], e.g. 192.168.77.5:5000/lab/app:1')
    .action(async (ref: string) => {
      const c = ctx();
      const { repo, tag } = tagTarget(ref);
      const progress = new PullProgress(c.out, process.stdout.isTTY === true);
      // The node's login for the registry is used (tswarm login): the CLI sends no credentials of its own.
      for await (const m of c.api().jsonStream<ProgressMessage>('POST', `/images/${imagePath(repo)}/push`, {
        query: { tag: tag ?? 'latest' },
        timeoutMs: PUSH_START_DEADLINE_MS,
      }))
        progress.update(m);
      progress.finish();
    });
}

export function addSave(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Save images to a tar archive (docker save format, which `image load` reads)')
    .argument('<image...>', 'images by name or ID')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .action(async (refs: string[], opts: { output?: string }) => {
      if (!opts.output && process.stdout.isTTY)
        throw new TswarmError('USAGE', 'refusing to write an archive to a terminal. Use -o FILE or redirect stdout');
      const c = ctx();
      const query = new URLSearchParams();
      for (const r of refs) query.append('names', r);
      const res = await c
        .api()
        .request('GET', `/images/get?${query.toString()}`, { timeoutMs: SAVE_START_DEADLINE_MS });
      if (!opts.output) {
        await pipeline(res, process.stdout);
        return;
      }
      // Written beside the target and renamed: a failed save leaves no half archive under its name.
      const tmp = `${opts.output}.tmp-${process.pid}`;
      try {
        await pipeline(res, createWriteStream(tmp));
        await rename(tmp, opts.output);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    });
}

export function addHistory(parent: Command, name: string, ctx: Ctx): void {
  parent
    .command(name)
    .description('Show the history of an image (how each layer was made)')
    .argument('<image>', 'the image, by name or ID')
    .option('--no-trunc', 'do not cut the output')
    .option('-q, --quiet', 'only show image IDs')
    .option('--format <format>', 'output format: table or json')
    .action(async (ref: string, opts: { trunc: boolean; quiet?: boolean; format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const items = await c.api().json<DockerHistoryItem[]>('GET', `/images/${imagePath(ref)}/history`);
      if (opts.quiet)
        c.out(items.map((h) => `${opts.trunc && h.Id.startsWith('sha256:') ? shortImageId(h.Id) : h.Id}\n`).join(''));
      else if (format === 'json') c.out(formatJson(items));
      else c.out(formatTable(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], historyRows(items, !opts.trunc)));
    });
}
