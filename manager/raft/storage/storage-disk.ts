/**
 * RaftStorage on disk: the WAL (manager/raft/storage/wal) for hard state and entries, snapshot files
 * beside it, and an in-memory copy of the log for the core's reads. Every write method resolves
 * only once its data is durable; the in-memory log changes only after that, so a read never
 * sees what a crash could take back.
 *
 * Layout under the raft dir (the data directory, docs/architecture.md): wal/*.wal and snap/*.snap.
 */
import { join } from 'node:path';
import { assert } from '../../../lib/assert.js';
import {
  CompactedError,
  EMPTY_CONF_STATE,
  UnavailableError,
  type InitialState,
  type RaftStorage,
} from '../core/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../core/types.js';
import { WalError } from './wal/errors.js';
import { NOOP_LOGGER, type BasicLogger } from '../../../lib/logger.js';
import type { WalRecovery } from './wal/reader.js';
import { SnapshotFiles } from './wal/snapshot-files.js';
import { Wal, type SaveOptions } from './wal/wal.js';

export interface DiskStorageOptions {
  /** WAL segment size before rolling to a new file (default 64 MiB). */
  segmentBytesLimit?: number;
  /** Snapshot files kept (default 2); the WAL keeps entries back to the oldest, so any can be used. */
  snapshotRetainCount?: number;
  snapshotBytesMax?: number;
  logger?: BasicLogger;
}

const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
  data: new Uint8Array(),
});

export class DiskStorage implements RaftStorage {
  /**
   * Invariant: ents[i] has raft log position prevIndex + 1 + i; prevIndex is the compaction
   * point (prevTerm its term) and prevIndex <= snap's index <= lastIndex(). As in etcd, entries
   * between the compaction point and the snapshot stay readable until compact() drops them.
   */
  private ents: Entry[];
  private prevIndex: number;
  private prevTerm: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly wal: Wal,
    private readonly snapFiles: SnapshotFiles,
    private hardState: HardState,
    private snap: Snapshot,
    entries: Entry[],
  ) {
    this.prevIndex = snap.metadata.index;
    this.prevTerm = snap.metadata.term;
    this.ents = entries;
  }

  /** Opens the raft dir, recovering hard state, the newest usable snapshot and the entries after it. */
  static async open(raftDir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    const logger = options.logger ?? NOOP_LOGGER;
    const snapFiles = await SnapshotFiles.open(join(raftDir, 'snap'), {
      logger,
      ...(options.snapshotRetainCount !== undefined ? { retainCount: options.snapshotRetainCount } : {}),
      ...(options.snapshotBytesMax !== undefined ? { snapshotBytesMax: options.snapshotBytesMax } : {}),
    });
    const { wal, recovery } = await Wal.open(join(raftDir, 'wal'), {
      logger,
      ...(options.segmentBytesLimit !== undefined ? { segmentBytesLimit: options.segmentBytesLimit } : {}),
    });
    try {
      const snap = await loadSnapshot(snapFiles, recovery, logger);
      const entries = recovery.log.entriesAfter(snap.metadata.index);
      return new DiskStorage(wal, snapFiles, recovery.hardState, snap, entries);
    } catch (err) {
      await wal.close();
      throw err;
    }
  }

  initialState(): InitialState {
    const cs = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.prevIndex - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    if (i < this.prevIndex) throw new CompactedError(i, this.firstIndex());
    if (i === this.prevIndex) return this.prevTerm;
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - this.prevIndex - 1]!.term;
  }

  firstIndex(): number {
    return this.prevIndex + 1;
  }

  lastIndex(): number {
    return this.prevIndex + this.ents.length;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Makes entries and hard state durable in one fsync (what a Ready hands out), then updates the
   * in-memory log. Entries replace any existing ones from entries[0].index on.
   */
  save(hardState: HardState | null, entries: readonly Entry[], options: SaveOptions = {}): Promise<void> {
    return this.serialized(async () => {
      const snapIndex = this.snap.metadata.index;
      // Entries at or below the snapshot are already covered by it (as MemoryStorage does).
      const fresh =
        entries.length > 0 && entries[0]!.index <= snapIndex ? entries.filter((e) => e.index > snapIndex) : entries;
      if (fresh.length > 0) {
        const first = fresh[0]!;
        assert(first.index <= this.lastIndex() + 1, 'disk storage: appended entries leave no gap');
        assert(first.term >= this.term(first.index - 1), 'disk storage: entry terms never decrease along the log');
      }
      await this.wal.save(hardState, fresh, options);
      if (fresh.length > 0) {
        this.ents.length = fresh[0]!.index - this.prevIndex - 1;
        for (const e of fresh) this.ents.push(e);
      }
      if (hardState !== null) this.hardState = { ...hardState };
    });
  }

  append(entries: readonly Entry[]): Promise<void> {
    return this.save(null, entries);
  }

  setHardState(hardState: HardState): Promise<void> {
    return this.save(hardState, []);
  }

  /**
   * Replaces the whole log with a snapshot from the leader. The snapshot file is durable before
   * the WAL records it, so the WAL never names a snapshot that is not on disk.
   */
  applySnapshot(snapshot: Snapshot, hardState: HardState | null = null): Promise<void> {
    return this.serialized(async () => {
      const { index, term } = snapshot.metadata;
      assert(index >= this.snap.metadata.index, 'disk storage: snapshots never go backwards');
      // A snapshot is committed by definition; the core refuses a commit index below it on restart.
      const base = hardState ?? this.hardState;
      const hs = { ...base, commit: Math.max(base.commit, index) };
      await this.snapFiles.save(snapshot);
      await this.wal.saveSnapshot({ index, term }, 'restore', hs);
      this.snap = snapshot;
      this.prevIndex = index;
      this.prevTerm = term;
      this.ents = [];
      this.hardState = hs;
      await this.releaseWal();
    });
  }

  /**
   * Makes a snapshot of the applied state at `index` (<= lastIndex), durable and recorded in the
   * WAL, then releases WAL segments that the oldest kept snapshot covers. Does not compact memory.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.serialized(async () => {
      assert(index >= this.snap.metadata.index, 'disk storage: snapshot index never goes backwards');
      assert(index <= this.lastIndex(), 'disk storage: snapshot within the log');
      if (index === this.snap.metadata.index) return this.snap;
      const term = this.term(index);
      const snapshot: Snapshot = {
        metadata: { index, term, confState: { voters: [...confState.voters], learners: [...confState.learners] } },
        data,
      };
      await this.snapFiles.save(snapshot);
      await this.wal.saveSnapshot({ index, term }, 'compact');
      this.snap = snapshot;
      await this.releaseWal();
      return snapshot;
    });
  }

  /** Drops in-memory entries up to and including `index`, which the current snapshot must cover. */
  compact(index: number): void {
    assert(index <= this.snap.metadata.index, 'disk storage: compact only what a snapshot covers');
    if (index <= this.prevIndex) return;
    this.prevTerm = this.term(index);
    this.ents = this.ents.slice(index - this.prevIndex);
    this.prevIndex = index;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.wal.close();
  }

  /** WAL entries stay back to the oldest kept snapshot, so recovery can fall back to it. */
  private async releaseWal(): Promise<void> {
    const oldest = (await this.snapFiles.list()).at(-1);
    const index = Math.min(oldest?.index ?? 0, this.snap.metadata.index);
    if (index > 0) await this.wal.releaseTo(index);
  }

  /** Writes run one at a time: each reads the in-memory log the previous one left. */
  private serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * The newest valid snapshot file the WAL can continue from: its index and term must match the
 * log the WAL holds (so entries after it are there and consistent). Usually the WAL's own marker;
 * an older one if the newest file is corrupt and the WAL still has the entries in between.
 */
async function loadSnapshot(snapFiles: SnapshotFiles, recovery: WalRecovery, logger: BasicLogger): Promise<Snapshot> {
  const marker = recovery.snapshotMarker;
  if (marker === null) return EMPTY_SNAPSHOT;
  const log = recovery.log;
  const snap = await snapFiles.loadNewest((info) => info.index <= marker.index && log.termAt(info.index) === info.term);
  if (snap === null) {
    throw new WalError(
      'SNAPSHOT_MISSING',
      `raft WAL records a snapshot at index ${marker.index} (term ${marker.term}) but no usable snapshot file is in ${snapFiles.dir}. ` +
        "Remove this manager's raft directory and rejoin it from a healthy peer",
      { file: snapFiles.dir },
    );
  }
  if (snap.metadata.index < marker.index) {
    logger.warn(
      { code: 'SNAPSHOT_CORRUPT', wanted: marker.index, used: snap.metadata.index },
      'raft storage: recovering from an older snapshot and replaying the WAL from it',
    );
  }
  return snap;
}
