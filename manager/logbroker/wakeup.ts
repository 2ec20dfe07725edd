import type { Clock } from '../../lib/clock.js';

/**
 * A sleep that an event cuts short. A wake that comes while nobody sleeps is kept, so an event
 * between a check and the next sleep is never missed.
 */
export class Wakeup {
  private pending = false;
  private wakeSleeper: (() => void) | undefined;

  wake(): void {
    const sleeper = this.wakeSleeper;
    if (sleeper) sleeper();
    else this.pending = true;
  }

  /** Resolves after `ms` on `clock`, or at the next wake, whichever comes first. */
  sleep(ms: number, clock: Clock): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = clock.setTimer(ms, () => this.wake());
      this.wakeSleeper = () => {
        this.wakeSleeper = undefined;
        timer.cancel();
        resolve();
      };
    });
  }
}
