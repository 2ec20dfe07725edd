import { watch, type FSWatcher } from 'node:fs';
import { link, rename, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../lib/log.js';

/**
 * conmon caps a container's log by starting a new file and renaming it over the old one, which
 * then is gone: right after that, `logs --tail 100` could show one line. tswarm keeps the
 * generation conmon replaced: `ctr.log.cur` is a hard link to the file conmon writes, so after
 * conmon's rename the old inode lives on under that name; it then becomes `ctr.log.1` (the
 * generation before) and `ctr.log.cur` links the new file. A log thus holds between one and two
 * caps of the latest output, as Docker's json-file with max-file 2.
 */
export function currentLink(logPath: string): string {
  return `${logPath}.cur`;
}

export function previousGeneration(logPath: string): string {
  return `${logPath}.1`;
}

/**
 * Notices a rotation and keeps the replaced generation; links the log the first time. Returns
 * true when it kept one. Two rotations between calls keep only the older of them: the watch on
 * the container's directory makes that need a cap's worth of output within one event turn.
 */
export async function keepRotatedLog(logPath: string): Promise<boolean> {
  const [live, held] = await Promise.all([
    stat(logPath).catch(() => undefined),
    stat(currentLink(logPath)).catch(() => undefined),
  ]);
  if (!live || held?.ino === live.ino) return false;
  if (held) {
    try {
      await rename(currentLink(logPath), previousGeneration(logPath));
    } catch (err) {
      // The container was removed meanwhile.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
  try {
    await link(logPath, currentLink(logPath));
  } catch (err) {
    // conmon renamed again meanwhile (ENOENT), or another call linked first (EEXIST): the next call sees it.
    if (!['ENOENT', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  return held !== undefined;
}

/** A poll behind the directory watches, for an event that was lost or a watch that could not be set. */
const POLL_MS = 1_000;

/**
 * Keeps the rotated logs of the running containers: a watch on each one's directory (conmon's
 * rename lands there) and a slow poll behind it.
 */
export class LogKeeper {
  private readonly watchers = new Map<string, FSWatcher>();
  /** One check at a time per log: two at once could both see the rename and move the new file to .1. */
  private readonly checks = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly running: () => string[],
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      for (const path of this.running()) void this.check(path);
    }, POLL_MS);
    this.timer.unref();
  }

  /** Starts keeping `logPath` (a started container); links it at once. */
  async follow(logPath: string): Promise<void> {
    await this.check(logPath);
    if (this.watchers.has(logPath)) return;
    try {
      const name = basename(logPath);
      // Only renames: conmon's rotation is one, while each line written is a 'change'.
      const watcher = watch(dirname(logPath), { persistent: false }, (event, file) => {
        if (event === 'rename' && file === name) void this.check(logPath);
      });
      watcher.on('error', () => void this.unfollow(logPath));
      this.watchers.set(logPath, watcher);
    } catch (err) {
      this.log.debug({ err, logPath }, 'cannot watch a container log directory; its rotations are noticed by polling');
    }
  }

  /** Stops keeping it (the container exited), after a last look. */
  async unfollow(logPath: string): Promise<void> {
    this.watchers.get(logPath)?.close();
    this.watchers.delete(logPath);
    await this.check(logPath);
  }

  /** Stops watching a removed container's log, without looking again. */
  forget(logPath: string): void {
    this.watchers.get(logPath)?.close();
    this.watchers.delete(logPath);
  }

  /** Looks for a rotation of `logPath`, after any look already under way for it. */
  check(logPath: string): Promise<void> {
    const next = (this.checks.get(logPath) ?? Promise.resolve()).then(() => this.keep(logPath));
    this.checks.set(logPath, next);
    void next.finally(() => {
      if (this.checks.get(logPath) === next) this.checks.delete(logPath);
    });
    return next;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private async keep(logPath: string): Promise<void> {
    try {
      if (await keepRotatedLog(logPath)) this.log.debug({ logPath }, 'kept a rotated container log');
    } catch (err) {
      this.log.warn({ err, logPath }, 'keeping a rotated container log failed; older output may be missing from logs');
    }
  }
}
