import { readdir } from 'node:fs/promises';
import type { Logger } from '../../lib/log.js';
import { readExitFile, type ExitFile } from './exits.js';

interface Waiter {
  isDone: () => boolean;
  resolve: (done: boolean) => void;
  timer: NodeJS.Timeout | undefined;
}

/** conmon writes an exit file within moments of the exit; 100 ms keeps `wait` snappy and cheap. */
const POLL_MS = 100;
/** setTimeout's largest delay; longer waits have no timer (they end only when done). */
const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * Notices containers ending by polling conmon's exit directory (one readdir per tick, only while
 * something runs) and wakes those waiting for an exit. Polling rather than inotify: it also
 * catches files written while the daemon was down, and a missed event can only delay, not lose.
 */
export class ExitWatcher {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
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
  }

  stop(): void {
    clearInterval(this.timer);
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
    if (this.busy) return;
    this.busy = true;
    try {
      const running = this.running();
      if (running.length > 0) {
        const present = new Set(await readdir(this.exitDir).catch(() => [] as string[]));
        for (const name of running.filter((n) => present.has(n))) {
          const exit = await readExitFile(this.exitDir, name);
          if (exit) await this.onExit(name, exit).catch((err: unknown) => this.log.error({ err, name }, 'recording a container exit failed'));
        }
      }
    } finally {
      this.busy = false;
      this.wake();
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
