/**
 * A simulated disk. Writes are buffered until sync(); a crash keeps only a prefix of the
 * unsynced writes, and may tear the last one (keep part of its entries), as a WAL with a
 * torn tail would after repair. Snapshots are saved atomically (write, fsync, rename).
 */
import { assert } from '../../../lib/assert.js';
import type { Random } from '../../../lib/random.js';
import { MemoryStorage } from '../core/memory-storage.js';
import { EMPTY_CONF_STATE } from '../core/storage.js';
import { EMPTY_HARD_STATE, type Entry, type HardState, type Snapshot } from '../core/types.js';

type Write =
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'entries'; entries: Entry[] }
  | { kind: 'hardState'; hardState: HardState };

export class SimDisk {
  private hardState: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: new Uint8Array() };
  /** Durable entries after the snapshot; invariant: contiguous, entries[i].index === snap index + 1 + i. */
  private entries: Entry[] = [];
  private unsynced: Write[] = [];

  static bootstrap(snapshot: Snapshot, hardState: HardState): SimDisk {
    const d = new SimDisk();
    d.snap = snapshot;
    d.hardState = { ...hardState };
    return d;
  }

  write(w: Write): void {
    this.unsynced.push(w);
  }

  sync(): void {
    for (const w of this.unsynced) this.persist(w);
    this.unsynced = [];
  }

  /** The process died: unsynced writes are lost, except a prefix that reached the platter. */
  crash(random: Random): void {
    const kept = random.int(this.unsynced.length + 1);
    for (let i = 0; i < kept; i++) this.persist(this.unsynced[i]!);
    const torn = this.unsynced[kept];
    if (torn?.kind === 'entries' && torn.entries.length > 1 && random.int(2) === 0) {
      this.persist({ kind: 'entries', entries: torn.entries.slice(0, random.int(torn.entries.length)) });
    }
    this.unsynced = [];
  }

  private persist(w: Write): void {
    switch (w.kind) {
      case 'hardState':
        this.hardState = { ...w.hardState };
        return;
      case 'snapshot':
        this.snap = w.snapshot;
        this.entries = [];
        return;
      case 'entries': {
        if (w.entries.length === 0) return;
        const base = this.snap.metadata.index;
        const fresh = w.entries.filter((e) => e.index > base);
        if (fresh.length === 0) return;
        const first = fresh[0]!.index;
        assert(first <= base + this.entries.length + 1, 'sim disk: appended entries leave no gap');
        this.entries = [...this.entries.slice(0, first - base - 1), ...fresh];
      }
    }
  }

  /** A snapshot of the local state machine, saved atomically and durably; entries it covers are dropped. */
  saveSnapshot(snapshot: Snapshot): void {
    assert(this.unsynced.length === 0, 'sim disk: local snapshots are taken between Readies');
    if (snapshot.metadata.index <= this.snap.metadata.index) return;
    const last = this.snap.metadata.index + this.entries.length;
    assert(snapshot.metadata.index <= last, 'sim disk: a local snapshot covers only durable entries');
    this.entries = this.entries.filter((e) => e.index > snapshot.metadata.index);
    this.snap = snapshot;
  }

  /** What a restarted process reads back. */
  load(): { storage: MemoryStorage; snapshot: Snapshot } {
    const storage = new MemoryStorage();
    storage.applySnapshot(this.snap);
    storage.append(this.entries);
    // The durable commit can exceed the durable log only if a torn write lost entries that
    // were committed here, which the write order (entries before hard state) rules out.
    storage.setHardState(this.hardState);
    return { storage, snapshot: this.snap };
  }
}
