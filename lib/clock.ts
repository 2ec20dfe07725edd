/**
 * Time as an injected dependency: production code takes a Clock, tests pass a ManualClock and
 * move time themselves, so nothing waits on the wall clock to be tested.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  nowMs(): number;
  setTimer(delayMs: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
};

interface PendingTimer {
  dueMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order inside advance(). */
export class ManualClock implements Clock {
  private now: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startMs = 0) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const timer: PendingTimer = { dueMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  advance(deltaMs: number): void {
    const target = this.now + deltaMs;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.dueMs <= target)
        .sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq)[0];
      if (!due) break;
      due.cancelled = true;
      this.now = due.dueMs;
      due.fn();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.now = target;
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
