/**
 * RaftStorage in memory, for tests and the simulator. Also the reference for what a disk
 * implementation must do on each write: append() truncates a conflicting suffix,
 * applySnapshot() replaces the log, createSnapshot() records the state machine at an index,
 * compact() drops a prefix the snapshot covers.
 */
import { assert } from '../../../lib/assert.js';
import { CompactedError, EMPTY_CONF_STATE, UnavailableError, type InitialState, type RaftStorage } from './storage.js';
import { EMPTY_HARD_STATE, type ConfState, type Entry, type HardState, type Snapshot } from './types.js';

export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: new Uint8Array() };
  /**
   * ents[0] is a dummy standing for the last compacted entry (its index and term are real, its
   * data is empty); invariant: ents[i] has raft log position i + ents[0].index.
   */
  private ents: Entry[] = [dummy(0, 0)];

  /** A storage that starts from a configuration, as a freshly bootstrapped cluster does. */
  static bootstrap(confState: ConfState, index = 0, term = 0): MemoryStorage {
    const s = new MemoryStorage();
    s.applySnapshot({ metadata: { index, term, confState: cloneConf(confState) }, data: new Uint8Array() });
    if (index > 0) s.hardState = { term, vote: '', commit: index };
    return s;
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConf(this.snap.metadata.confState) };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.offset()) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.offset()]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    if (i < this.offset()) throw new CompactedError(i, this.firstIndex());
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - this.offset()]!.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Appends entries, replacing any existing entries from entries[0].index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    assert(entries[0]!.index <= this.lastIndex() + 1, 'memory storage: appended entries leave no gap');
    // Entries at or below the compaction point are already covered by a snapshot.
    const fresh = entries.filter((e) => e.index > this.offset());
    if (fresh.length === 0) return;
    this.ents.length = fresh[0]!.index - this.offset();
    this.ents.push(...fresh);
  }

  /** Replaces the whole log with a snapshot (a follower catching up from the leader's snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.metadata.index >= this.snap.metadata.index, 'memory storage: snapshots never go backwards');
    this.snap = snapshot;
    this.ents = [dummy(snapshot.metadata.index, snapshot.metadata.term)];
  }

  /** Records a snapshot of the applied state at `index` (<= lastIndex), without compacting. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    assert(index >= this.snap.metadata.index, 'memory storage: snapshot index never goes backwards');
    assert(index <= this.lastIndex(), 'memory storage: snapshot within the log');
    if (index === this.snap.metadata.index) return this.snap;
    this.snap = { metadata: { index, term: this.term(index), confState: cloneConf(confState) }, data };
    return this.snap;
  }

  /** Drops entries up to and including `index`; it must be covered by the snapshot. */
  compact(index: number): void {
    assert(index <= this.snap.metadata.index, 'memory storage: compact only what a snapshot covers');
    if (index <= this.offset()) return;
    const base = this.ents[index - this.offset()]!;
    this.ents = [dummy(base.index, base.term), ...this.ents.slice(index - this.offset() + 1)];
  }

  /** Entries held after the compaction point (for tests). */
  allEntries(): Entry[] {
    return this.ents.slice(1);
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array() };
}

function cloneConf(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
