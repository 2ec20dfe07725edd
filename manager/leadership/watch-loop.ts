/**
 * A leader-only component that reconciles when the store changes (the orchestrator, the
 * scheduler): on gaining leadership it reconciles once from the whole store, then again each time
 * watched changes arrive. Changes that arrive while a round runs are coalesced into the next one,
 * so a burst of 1,000 task writes costs a few rounds, not 1,000. A round reads the store as it is
 * then (not the events), so a missed event can never leave it wrong: a watch ended by a snapshot
 * restore (RESYNC_REQUIRED) or a slow-reader cut-off is simply opened again. A failed round (a
 * proposal lost to a leader change, a conflict) is retried after `retryAfterMs`, or sooner when
 * something changes.
 */
import type { Clock, Timer } from '../../lib/clock.js';
import type { BasicLogger } from '../../lib/logger.js';
import type { Kind } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import type { ChangeEventView, Watcher } from '../store/watch.js';
import type { LeaderComponent } from './leadership.js';

export interface WatchLoopOptions {
  name: string;
  store: Store;
  clock: Clock;
  log: BasicLogger;
  kinds: readonly Kind[];
  /** Changes that matter to this loop (runs on the reader's side, off Raft's apply path). */
  filter?: (event: ChangeEventView) => boolean;
  /**
   * One round: read the store, decide, write. `signal` aborts when leadership is lost. A round
   * whose decision depends on the time (a delayed restart) says when to run again even if
   * nothing changes.
   */
  round(signal: AbortSignal): Promise<void | RoundResult>;
  retryAfterMs?: number;
}

export interface RoundResult {
  /** Run another round at this time (ms since the epoch) unless a change wakes the loop first. */
  wakeAtMs?: number | undefined;
}

const RETRY_AFTER_MS_DEFAULT = 500;

type Wake = { kind: 'change' } | { kind: 'ended'; error?: Error } | { kind: 'timer' };

export class WatchLoop implements LeaderComponent {
  readonly name: string;
  private running: Promise<void> | undefined;
  /** Rounds completed in this term, for tests and logs. */
  rounds = 0;

  constructor(private readonly o: WatchLoopOptions) {
    this.name = o.name;
  }

  start(signal: AbortSignal): void {
    this.running = this.run(signal);
  }

  async stop(): Promise<void> {
    await this.running;
    this.running = undefined;
  }

  private openWatch(): Watcher {
    return this.o.store.watch({ kinds: this.o.kinds, ...(this.o.filter ? { filter: this.o.filter } : {}) });
  }

  private async run(signal: AbortSignal): Promise<void> {
    // Opened before the first round reads the store, so no change falls between the two.
    let watcher = this.openWatch();
    let pending: Promise<Wake> | undefined;
    let timer: Timer | undefined;
    const onAbort = () => watcher.close();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const result = await this.roundSafely(signal);
        if (signal.aborted) return;
        pending ??= watcher.next().then(
          (r): Wake => (r.done ? { kind: 'ended' } : { kind: 'change' }),
          (error: Error): Wake => ({ kind: 'ended', error }),
        );
        const againInMs =
          result === 'failed'
            ? (this.o.retryAfterMs ?? RETRY_AFTER_MS_DEFAULT)
            : result.wakeAtMs === undefined
              ? undefined
              : Math.max(0, result.wakeAtMs - this.o.clock.nowMs());
        // Already due (time passed while the round ran): plan again now, keeping the watch's wait.
        if (againInMs === 0) continue;
        let wake: Wake;
        if (againInMs === undefined) wake = await pending;
        else {
          const again = new Promise<Wake>((resolve) => {
            timer = this.o.clock.setTimer(againInMs, () => resolve({ kind: 'timer' }));
          });
          wake = await Promise.race([pending, again]);
          timer?.cancel();
        }
        if (wake.kind === 'timer') continue; // the watch's wait goes on into the next round
        pending = undefined;
        if (wake.kind === 'ended') {
          if (signal.aborted) return;
          this.o.log.info({ component: this.name, reason: wake.error?.message }, 'watch ended; watching again');
          watcher = this.openWatch();
          continue;
        }
        try {
          watcher.skipQueued(); // coalesced: the next round reads everything they changed
        } catch {
          watcher = this.openWatch();
        }
      }
    } finally {
      timer?.cancel();
      signal.removeEventListener('abort', onAbort);
      watcher.close();
    }
  }

  private async roundSafely(signal: AbortSignal): Promise<RoundResult | 'failed'> {
    try {
      const result = await this.o.round(signal);
      this.rounds++;
      return result ?? {};
    } catch (err) {
      if (!signal.aborted)
        this.o.log.warn({ err: (err as Error).message, component: this.name }, 'round failed; retrying');
      return 'failed';
    }
  }
}
