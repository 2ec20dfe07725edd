/**
 * A leader-only component that runs one round of work every `periodMs` while this manager leads:
 * the node-liveness check (heartbeats missed by the clock, not by any store change) and the role
 * manager (a learner catching up is Raft progress, not a store change) need time, not events.
 * Rounds never overlap: the next is scheduled when the previous one ends.
 */
import type { Clock, Timer } from '../../lib/clock.js';
import type { BasicLogger } from '../../lib/logger.js';
import type { LeaderComponent } from './leadership.js';

export interface LeaderLoopOptions {
  name: string;
  clock: Clock;
  periodMs: number;
  log: BasicLogger;
  /** One round; `signal` aborts when leadership is lost, so a long round can give up early. */
  round(signal: AbortSignal): Promise<void>;
  /** On gaining leadership, before the first round: set up this term's leader-only state. */
  onStart?(term: number): void;
  /** After the last round of a term has ended: drop the leader-only state. */
  onStop?(): void;
}

export class LeaderLoop implements LeaderComponent {
  readonly name: string;
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private signal: AbortSignal | undefined;

  constructor(private readonly o: LeaderLoopOptions) {
    this.name = o.name;
  }

  start(signal: AbortSignal, term: number): void {
    this.signal = signal;
    this.o.onStart?.(term);
    this.schedule(signal);
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.inFlight;
    this.signal = undefined;
    this.o.onStop?.();
  }

  private schedule(signal: AbortSignal): void {
    if (signal.aborted || this.signal !== signal) return;
    this.timer = this.o.clock.setTimer(this.o.periodMs, () => {
      this.timer = undefined;
      this.inFlight = this.runRound(signal).finally(() => {
        this.inFlight = undefined;
        this.schedule(signal);
      });
    });
  }

  private async runRound(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    try {
      await this.o.round(signal);
    } catch (err) {
      // A failed round (a conflict, a proposal lost to a leader change) is retried next period.
      if (!signal.aborted)
        this.o.log.warn({ err: (err as Error).message, component: this.name }, 'round failed; retrying');
    }
  }
}
