/**
 * The part of the log not yet handed to storage as durable: entries (and possibly a snapshot
 * received from the leader) waiting for the next Ready to persist them.
 */
import { assert } from '../../../lib/assert.js';
import type { Entry, Snapshot } from './types.js';

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  /** Invariant: entries[i] has raft log position i + offset. */
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index, if a snapshot is pending (the log then starts after it). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]?.term;
  }

  /** Entries up to (index, term) are now durable: forget them, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    // A mismatch means the entries were overwritten by a new leader's since the Ready; keep them.
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]!.index;
    if (first === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (first <= this.offset) {
      // Replaces everything unstable; storage will be overwritten from `first` on too.
      this.offset = first;
      this.entries = [...ents];
    } else {
      this.entries = [...this.slice(this.offset, first), ...ents];
    }
  }

  slice(lo: number, hi: number): Entry[] {
    assert(
      lo <= hi && lo >= this.offset && hi <= this.offset + this.entries.length,
      `unstable: slice [${lo},${hi}) out of bounds`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
