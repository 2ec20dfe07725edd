import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Logger } from '../../lib/log.js';
import { readExitFile, type ExitFile } from './exits.js';

interface Waiter {
  isDone: () => boolean;
  resolve: (done: boolean) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The safety net behind inotify (a lost event, a watch that could not be set): a slow poll. */
const POLL_MS = 500;
/** setTimeout's largest delay; longer waits have no timer (they end only when done). */
const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * Notices containers ending from conmon's exit directory and wakes those waiting for an exit.
 * inotify (fs.watch) reports a new exit file at once — `run --rm` waits on it; a slow poll behind
 * it (one readdir per tick, only while something runs) catches whatever an event missed, so a
 * lost event only delays. Files written while the daemon was down are found by adoption.
 */
export class ExitWatcher {
  private timer: NodeJS.Timeout | undefined;
  private inotify: FSWatcher | undefined;
  private busy = false;
  /** An event came during a scan: scan again after it, or that exit waits for the next poll. */
  private rescan = false;
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly exitDir: string,
    private readonly running: () => string[],
    private readonly onExit: (runtimeName: string, exit: ExitFile) => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    this.timer.unref();
    try {
      this.inotify = watch(this.exitDir, { persistent: false }, () => void this.tick());
      this.inotify.on('error', (err) => {
        this.log.warn({ err, dir: this.exitDir }, 'watching the exit directory failed; noticing exits by polling');
        this.inotify?.close();
        this.inotify = undefined;
      });
    } catch (err) {
      this.log.warn({ err, dir: this.exitDir }, 'cannot watch the exit directory; noticing exits by polling');
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.inotify?.close();
    this.inotify = undefined;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(w.isDone());
    }
    this.waiters.clear();
  }

  /** Resolves true once isDone() holds, false when timeoutMs passes first. */
  waitExited(_runtimeName: string, timeoutMs: number, isDone: () => boolean): Promise<boolean> {
    if (isDone()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = { isDone, resolve, timer: undefined };
      if (timeoutMs <= TIMER_MS_MAX) {
        waiter.timer = setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(isDone());
        }, timeoutMs);
      }
      this.waiters.add(waiter);
    });
  }

  private async tick(): Promise<void> {
    if (this.busy) {
      this.rescan = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.rescan = false;
        await this.scan();
      } while (this.rescan);
    } finally {
      this.busy = false;
      this.wake();
    }
  }

  private async scan(): Promise<void> {
    const running = this.running();
    if (running.length === 0) return;
    const present = new Set(await readdir(this.exitDir).catch(() => [] as string[]));
    for (const name of running.filter((n) => present.has(n))) {
      const exit = await readExitFile(this.exitDir, name);
      if (exit)
        await this.onExit(name, exit).catch((err: unknown) =>
          this.log.error({ err, name }, 'recording a container exit failed'),
        );
    }
  }

  private wake(): void {
    for (const w of this.waiters) {
      if (!w.isDone()) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(true);
    }
  }
}
