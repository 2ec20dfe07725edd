/**
 * Proposals made in one turn of the event loop enter the log together, as one multi-entry
 * MsgProp: the leader then sends one MsgApp per follower for the whole batch instead of one per
 * proposal, and followers answer once. Under load this cuts messages (and the CPU spent on
 * them) by the batch size; alone, a proposal waits only for the current turn to end.
 */
import { TswarmError } from '../../../lib/errors.js';
import type { PendingProposals } from './pending.js';

interface Queued<R> {
  data: Uint8Array;
  resolve(value: R): void;
  reject(err: Error): void;
}

/** Appends the batch to the leader's log; returns the (index, term) of its last entry, or throws. */
export type StepBatch = (datas: Uint8Array[]) => { lastIndex: number; term: number };

export class ProposalBatcher<R> {
  private queued: Queued<R>[] = [];
  private scheduled = false;

  constructor(
    private readonly pending: PendingProposals<R>,
    private readonly countMax: number,
    private readonly stepBatch: StepBatch,
  ) {}

  add(data: Uint8Array): Promise<R> {
    if (this.pending.size + this.queued.length >= this.countMax) {
      return Promise.reject(
        new TswarmError(
          'RESOURCE_EXHAUSTED',
          `raft: ${this.countMax} proposals already waiting on this member. Retry shortly`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.queued.push({ data, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    let last: { lastIndex: number; term: number };
    try {
      last = this.stepBatch(batch.map((q) => q.data));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const q of batch) q.reject(e);
      return;
    }
    // The batch took consecutive indexes ending at lastIndex, all in this term.
    const first = last.lastIndex - batch.length + 1;
    batch.forEach((q, i) => {
      this.pending.add(first + i, last.term).then(
        (v) => q.resolve(v),
        (err: Error) => q.reject(err),
      );
    });
  }

  rejectAll(err: Error): void {
    for (const q of this.queued) q.reject(err);
    this.queued = [];
  }
}
