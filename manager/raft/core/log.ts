/**
 * The Raft log: durable entries (through RaftStorage) followed by unstable ones, plus the
 * commit and apply cursors. Invariant: applied <= committed <= lastIndex().
 */
import { assert } from '../../../lib/assert.js';
import { entryBytes } from './messages.js';
import { CompactedError, UnavailableError, type RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(
    readonly storage: RaftStorage,
    /** Bytes of committed entries handed out per Ready at most (at least one entry always). */
    readonly maxApplyingBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the snapshot is committed and applied (the snapshot is the applied state).
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'log: the last entry has a term');
    return t;
  }

  /** The term of entry i, 0 beyond the log, undefined if compacted away. */
  term(i: number): number | undefined {
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex || i > this.lastIndex()) return i > this.lastIndex() ? 0 : undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Whether a log ending at (lastIndex, term) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * A follower's half of AppendEntries: if our log has (index, logTerm), append ents after it
   * (dropping any conflicting suffix) and advance commit. Returns the last new index, or
   * undefined when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, `log: conflicting entry ${conflict} is above commit ${this.committed}`);
      this.append(ents.slice(conflict - index - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0]!.index;
    assert(first - 1 >= this.committed, `log: appending after ${first - 1} would overwrite commit ${this.committed}`);
    for (let i = 1; i < ents.length; i++) {
      assert(ents[i]!.index === first + i, 'log: appended entries are contiguous');
      assert(ents[i]!.term >= ents[i - 1]!.term, 'log: entry terms never decrease along the log');
    }
    const prevTerm = this.term(first - 1);
    assert(prevTerm === undefined || prevTerm <= ents[0]!.term, 'log: entry terms never decrease along the log');
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry of ents that is new or conflicts with ours; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * For a rejected append at (index, term): the largest index <= index whose term is <= term,
   * with that term. The leader can then skip a whole term of mismatching entries per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  commitTo(commit: number): void {
    if (commit <= this.committed) return; // commit never goes backwards
    assert(commit <= this.lastIndex(), `log: commit ${commit} beyond last index ${this.lastIndex()}`);
    this.committed = commit;
  }

  /** Leader: commit up to maxIndex if that entry is of the current term (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(
      index <= this.committed && index >= this.applied,
      `log: applied ${index} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  /** Entries committed and not yet applied, bounded by maxApplyingBytes. None while a snapshot is pending. */
  nextCommittedEntries(): Entry[] {
    if (this.unstable.snapshot || this.committed <= this.applied) return [];
    const ents = this.slice(this.applied + 1, this.committed + 1, this.maxApplyingBytes);
    assert(ents !== undefined, `log: unapplied entries after ${this.applied} were compacted`);
    return ents;
  }

  hasNextCommittedEntries(): boolean {
    return !this.unstable.snapshot && this.committed > this.applied;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Entries from lo to the end, bounded by maxBytes; undefined if lo was compacted away. */
  entriesFrom(lo: number, maxBytes: number): Entry[] | undefined {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** Entries [lo, hi) bounded by maxBytes (at least one); undefined if lo was compacted away. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    assert(hi <= this.lastIndex() + 1, `log: slice [${lo},${hi}) beyond last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    const unstableStart = this.unstable.offset;
    if (lo < unstableStart) {
      try {
        out.push(...this.storage.entries(lo, Math.min(hi, unstableStart), maxBytes));
      } catch (err) {
        if (err instanceof CompactedError) return undefined;
        throw err;
      }
      // Storage stopped early because of the byte limit: return what it gave.
      if (out.length < Math.min(hi, unstableStart) - lo) return out;
    }
    if (hi > unstableStart) {
      let bytes = out.reduce((sum, e) => sum + entryBytes(e), 0);
      for (const e of this.unstable.slice(Math.max(lo, unstableStart), hi)) {
        bytes += entryBytes(e);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /** The snapshot to send to a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot (a follower far behind). */
  restore(snapshot: Snapshot): void {
    assert(snapshot.metadata.index > this.committed, 'log: a restored snapshot is ahead of commit');
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
