/**
 * Callers waiting on the node loop: proposals (by log index and term, resolved when that entry
 * is applied) and linearizable reads (resolved once applied reaches their read index). Both
 * maps are bounded, and every waiter has a timeout, so nothing waits forever or piles up.
 */
import type { Clock, Timer } from '../../../lib/clock.js';
import { TswarmError } from '../../../lib/errors.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: Timer;
}

function overloaded(what: string, max: number): TswarmError {
  return new TswarmError('RESOURCE_EXHAUSTED', `raft: ${max} ${what} already waiting on this member. Retry shortly`);
}

export class PendingProposals<R> {
  private readonly byIndex = new Map<number, Waiter<R> & { term: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly countMax: number,
    private readonly timeoutMs: number,
  ) {}

  checkCapacity(): void {
    if (this.byIndex.size >= this.countMax) throw overloaded('proposals', this.countMax);
  }

  /** Waits for the entry the leader just appended at (index, term). */
  add(index: number, term: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const timer = this.clock.setTimer(this.timeoutMs, () => {
        this.byIndex.delete(index);
        reject(
          new TswarmError(
            'DEADLINE_EXCEEDED',
            `raft: proposal at index ${index} not applied within ${this.timeoutMs} ms. Retry it`,
          ),
        );
      });
      this.byIndex.set(index, { term, resolve, reject, timer });
    });
  }

  /** The entry at index was applied with this term: ours if the term matches, else ours was overwritten. */
  applied(index: number, term: number, result: R): void {
    const w = this.byIndex.get(index);
    if (!w) return;
    this.byIndex.delete(index);
    w.timer.cancel();
    if (w.term === term) w.resolve(result);
    else
      w.reject(
        new TswarmError('UNAVAILABLE', `raft: proposal at index ${index} was overwritten by a new leader. Retry it`),
      );
  }

  rejectAll(err: Error): void {
    for (const w of this.byIndex.values()) {
      w.timer.cancel();
      w.reject(err);
    }
    this.byIndex.clear();
  }

  get size(): number {
    return this.byIndex.size;
  }
}

export class PendingReads {
  private readonly byCtx = new Map<
    string,
    Waiter<void> & { index: number | undefined; sentAtMs: number | undefined }
  >();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly prefix: string,
    private readonly countMax: number,
    private readonly timeoutMs: number,
  ) {}

  checkCapacity(): void {
    if (this.byCtx.size >= this.countMax) throw overloaded('reads', this.countMax);
  }

  /** A fresh unique context (the core matches read states by it). */
  nextCtx(): string {
    return `${this.prefix}/${++this.seq}`;
  }

  /**
   * Waits for the read `ctx` to be confirmed and applied. `whyNot` names, at the deadline, why
   * it was not (no leader, or no answer), in the words the caller needs.
   */
  add(ctx: string, whyNot: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(this.timeoutMs, () => {
        this.byCtx.delete(ctx);
        reject(whyNot());
      });
      this.byCtx.set(ctx, { index: undefined, sentAtMs: undefined, resolve, reject, timer });
    });
  }

  /** The read request `ctx` went to the leader now. */
  sent(ctx: string): void {
    const w = this.byCtx.get(ctx);
    if (w) w.sentAtMs = this.clock.nowMs();
  }

  /**
   * Reads still unconfirmed that were never sent, or sent at least `resendAfterMs` ago: a
   * request or its answer can be lost (a leader change, a connection re-established), and a read
   * costs nothing to ask again — etcd's server resends its ReadIndex every 500 ms the same way.
   */
  dueForSending(resendAfterMs: number): string[] {
    const nowMs = this.clock.nowMs();
    const due: string[] = [];
    for (const [ctx, w] of this.byCtx)
      if (w.index === undefined && (w.sentAtMs === undefined || nowMs - w.sentAtMs >= resendAfterMs)) due.push(ctx);
    return due;
  }

  /** The leader confirmed the read at `index` (the first confirmation stands; a later one is as good). */
  confirmed(ctx: string, index: number): void {
    const w = this.byCtx.get(ctx);
    if (w && w.index === undefined) w.index = index;
  }

  /** Serves every confirmed read whose index is applied. */
  serve(appliedIndex: number): void {
    for (const [ctx, w] of this.byCtx) {
      if (w.index === undefined || w.index > appliedIndex) continue;
      this.byCtx.delete(ctx);
      w.timer.cancel();
      w.resolve();
    }
  }

  /** Reads not yet confirmed will never be (the leader that had them is gone): fail them fast. */
  rejectUnconfirmed(err: Error): void {
    for (const [ctx, w] of this.byCtx) {
      if (w.index !== undefined) continue;
      this.byCtx.delete(ctx);
      w.timer.cancel();
      w.reject(err);
    }
  }

  get size(): number {
    return this.byCtx.size;
  }

  rejectAll(err: Error): void {
    for (const w of this.byCtx.values()) {
      w.timer.cancel();
      w.reject(err);
    }
    this.byCtx.clear();
  }
}
