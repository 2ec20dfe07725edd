/**
 * The Raft write-ahead log: hard states, entry batches and snapshot markers, appended to segment
 * files and fsynced before any save resolves. Nothing is acknowledged before it is durable.
 *
 * Each segment starts with a header (sequence, first index, term before it) followed by copies
 * of the newest snapshot marker and hard state, so once a snapshot covers the older segments
 * they can be deleted (releaseTo) without losing either.
 */
import { fdatasyncSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../../../lib/assert.js';
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../../core/types.js';
import { WalError, ioError } from './errors.js';
import { createFileDurable, fsyncDir, mkdirDurable, writeAll } from './fs-durable.js';
import { NOOP_LOGGER, type BasicLogger } from '../../../../lib/logger.js';
import { readWal, type WalRecovery } from './reader.js';
import { RecoveredLog } from './replay.js';
import {
  ENTRY_DATA_BYTES_MAX,
  encodeRecords,
  entriesRecords,
  type MarkerMode,
  type SnapshotMarker,
  type WalRecord,
} from './record.js';
import { segmentFileName, type SegmentName } from './segment-names.js';

export const SEGMENT_BYTES_LIMIT_DEFAULT = 64 * 1024 * 1024;
/** Below this, segment headers would dominate; above it, recovery reads too much at once. */
const SEGMENT_BYTES_LIMIT_MIN = 4 * 1024;
const SEGMENT_BYTES_LIMIT_MAX = 512 * 1024 * 1024;
/** One save is one buffer in memory: bounded so a runaway batch fails instead of exhausting the heap. */
export const SAVE_BYTES_MAX = 256 * 1024 * 1024;
/** Entries records are split near this size, so a torn tail or a corrupt record costs little. */
const ENTRIES_RECORD_BYTES_TARGET = 1024 * 1024;
/** The node loop awaits each save; more than this many queued means it does not. */
const QUEUED_OPS_MAX = 64;

export interface WalOptions {
  segmentBytesLimit?: number;
  logger?: BasicLogger;
}

interface OpenSegment {
  fh: FileHandle;
  name: SegmentName;
  sizeBytes: number;
  /** Bytes of header and copies: a segment no larger than this holds nothing new, so is never rolled. */
  startBytes: number;
}

export interface SaveOptions {
  /**
   * fsync on the event loop (fdatasyncSync) rather than in the thread pool. A follower's save is
   * all it has to do before answering the leader: the pool's hand-off and the loop's wake-up
   * (0.1-1 ms on a busy machine) would sit on the path of every commit. The leader keeps the
   * pool, so its loop goes on serving acks and clients while its disk works.
   */
  blockingSync?: boolean;
}

export class Wal {
  private queue: Promise<unknown> = Promise.resolve();
  private queuedOps = 0;
  private failure: WalError | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytesLimit: number,
    private readonly logger: BasicLogger,
    private segments: SegmentName[],
    private current: OpenSegment,
    private lastIndex: number,
    private lastTerm: number,
    private hardState: HardState,
    private marker: SnapshotMarker | null,
  ) {}

  /** Opens (creating if needed) the WAL in dir, recovering what it holds. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; recovery: WalRecovery }> {
    const segmentBytesLimit = options.segmentBytesLimit ?? SEGMENT_BYTES_LIMIT_DEFAULT;
    assert(
      Number.isSafeInteger(segmentBytesLimit) &&
        segmentBytesLimit >= SEGMENT_BYTES_LIMIT_MIN &&
        segmentBytesLimit <= SEGMENT_BYTES_LIMIT_MAX,
      `segmentBytesLimit within [${SEGMENT_BYTES_LIMIT_MIN}, ${SEGMENT_BYTES_LIMIT_MAX}]`,
    );
    const logger = options.logger ?? NOOP_LOGGER;
    await mkdirDurable(dir);
    const recovery = (await readWal(dir, logger)) ?? (await createFirstSegment(dir));
    const last = recovery.segments[recovery.segments.length - 1]!;
    const path = join(dir, last.file);
    const fh = await open(path, 'r+').catch((err: unknown) =>
      Promise.reject(ioError(err, 'opening the last segment', path)),
    );
    const current: OpenSegment = {
      fh,
      name: last,
      sizeBytes: recovery.lastSegmentBytes,
      startBytes: recovery.lastSegmentStartBytes,
    };
    const lastTerm = recovery.log.termAt(recovery.log.lastIndex);
    assert(lastTerm !== undefined, 'the term of the last entry is known after recovery');
    const wal = new Wal(
      dir,
      segmentBytesLimit,
      logger,
      [...recovery.segments],
      current,
      recovery.log.lastIndex,
      lastTerm,
      { ...recovery.hardState },
      recovery.snapshotMarker,
    );
    return { wal, recovery };
  }

  /**
   * Appends entries (replacing any from entries[0].index on) and then the hard state, in one
   * write and one fsync. Resolves only once both are durable. Entries come first so a torn
   * write never leaves a commit index pointing past the entries it covers. With blockingSync
   * the fsync holds the event loop instead of going through the thread pool (see SaveOptions).
   */
  save(hardState: HardState | null, entries: readonly Entry[], options: SaveOptions = {}): Promise<void> {
    return this.enqueue(async () => {
      const hsChanged = hardState !== null && !sameHardState(hardState, this.hardState);
      if (!hsChanged && entries.length === 0) return; // nothing new: no write, no fsync
      this.checkEntries(entries);
      if (hsChanged) this.checkHardState(hardState);
      const records = entriesRecords(entries, ENTRIES_RECORD_BYTES_TARGET);
      if (hsChanged) records.push({ type: 'hardState', hardState });
      await this.writeDurably(encodeRecords(records), options.blockingSync === true);
      if (entries.length > 0) {
        this.lastIndex = entries[entries.length - 1]!.index;
        this.lastTerm = entries[entries.length - 1]!.term;
      }
      if (hsChanged) this.hardState = { ...hardState };
    });
  }

  /**
   * Records that a snapshot at marker exists (it must already be durable on disk). 'compact':
   * the snapshot covers a prefix of this log. 'restore': the log is replaced by the snapshot.
   */
  saveSnapshot(marker: SnapshotMarker, mode: MarkerMode, hardState: HardState | null = null): Promise<void> {
    return this.enqueue(async () => {
      assert(marker.index >= (this.marker?.index ?? 0), 'snapshot markers never go backwards');
      if (mode === 'compact') assert(marker.index <= this.lastIndex, 'a compacting snapshot lies within the log');
      const records: WalRecord[] = [{ type: 'snapshotMarker', marker: { ...marker }, mode }];
      const hsChanged = hardState !== null && !sameHardState(hardState, this.hardState);
      if (hsChanged) {
        this.checkHardState(hardState);
        records.push({ type: 'hardState', hardState });
      }
      await this.writeDurably(encodeRecords(records));
      this.marker = { ...marker };
      if (mode === 'restore') {
        this.lastIndex = marker.index;
        this.lastTerm = marker.term;
      }
      if (hsChanged) this.hardState = { ...hardState };
    });
  }

  /**
   * Deletes the oldest segments whose entries are all at or below index, which a durable
   * snapshot marker must cover. The last segment is never deleted. Returns how many went.
   */
  releaseTo(index: number): Promise<number> {
    return this.enqueue(async () => {
      assert(this.marker !== null && index <= this.marker.index, 'release only what a recorded snapshot covers');
      let released = 0;
      // Segment k holds only entries below segment k+1's first index (rewrites go to later segments).
      while (this.segments.length > 1 && this.segments[1]!.firstIndex - 1 <= index) {
        const path = join(this.dir, this.segments[0]!.file);
        await unlink(path).catch((err: unknown) => Promise.reject(ioError(err, 'deleting a released segment', path)));
        this.segments.shift();
        released++;
      }
      if (released > 0) {
        await fsyncDir(this.dir);
        this.logger.info(
          { released, index, firstSegment: this.segments[0]!.file },
          'raft WAL: released segments covered by a snapshot',
        );
      }
      return released;
    });
  }

  /** Waits for queued writes, then closes the segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.current.fh.close();
  }

  get segmentFiles(): readonly string[] {
    return this.segments.map((s) => s.file);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    if (this.queuedOps >= QUEUED_OPS_MAX) {
      return Promise.reject(
        new WalError(
          'WAL_BUSY',
          `raft WAL: more than ${QUEUED_OPS_MAX} writes queued. Await each save before the next`,
        ),
      );
    }
    this.queuedOps++;
    const run = this.queue.then(() => {
      if (this.closed) throw new WalError('WAL_CLOSED', 'raft WAL is closed. Reopen it');
      if (this.failure !== null) throw this.failure;
      return op();
    });
    const done = run.finally(() => this.queuedOps--);
    this.queue = done.catch(() => undefined);
    return done;
  }

  private checkEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!;
    assert(first.index > (this.marker?.index ?? 0), 'entries are never written at or below the snapshot');
    assert(first.index <= this.lastIndex + 1, 'appended entries leave no gap in the log');
    if (first.index === this.lastIndex + 1) assert(first.term >= this.lastTerm, 'entry terms never decrease');
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      assert(e.index === first.index + i, 'a batch holds consecutive entries');
      assert(i === 0 || e.term >= entries[i - 1]!.term, 'entry terms never decrease');
      if (e.data.length > ENTRY_DATA_BYTES_MAX) {
        throw new WalError(
          'WAL_RECORD_TOO_LARGE',
          `raft entry ${e.index} holds ${e.data.length} bytes, over the ${ENTRY_DATA_BYTES_MAX}-byte bound. Make the change smaller`,
        );
      }
    }
  }

  private checkHardState(hs: HardState): void {
    assert(hs.term >= this.hardState.term, 'the hard state term never decreases');
    assert(hs.commit >= this.hardState.commit, 'the commit index never decreases');
  }

  /** One write and one fdatasync; on failure nothing is acknowledged and the partial write is undone. */
  private async writeDurably(buf: Buffer, blockingSync = false): Promise<void> {
    if (buf.length > SAVE_BYTES_MAX) {
      throw new WalError(
        'WAL_RECORD_TOO_LARGE',
        `raft WAL: a save of ${buf.length} bytes exceeds the ${SAVE_BYTES_MAX}-byte bound. Save in smaller batches`,
      );
    }
    const seg = this.current;
    if (seg.sizeBytes > seg.startBytes && seg.sizeBytes + buf.length > this.segmentBytesLimit) await this.roll();
    const target = this.current;
    const path = join(this.dir, target.name.file);
    try {
      await writeAll(target.fh, buf, target.sizeBytes);
    } catch (err) {
      await this.undoPartialWrite(target, path);
      throw ioError(err, 'appending to the raft WAL', path);
    }
    try {
      if (blockingSync) fdatasyncSync(target.fh.fd);
      else await target.fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: whether the data is on
      // disk is unknown, and retrying could falsely succeed. Only a reopen (re-reading) is safe.
      this.failure = new WalError(
        'WAL_FAILED',
        `raft WAL: fsync of ${path} failed. Restart the daemon to recover from disk`,
        { file: path },
        { cause: err },
      );
      throw ioError(err, 'syncing the raft WAL', path);
    }
    target.sizeBytes += buf.length;
  }

  private async undoPartialWrite(seg: OpenSegment, path: string): Promise<void> {
    try {
      await seg.fh.truncate(seg.sizeBytes);
    } catch (err) {
      this.failure = new WalError(
        'WAL_FAILED',
        `raft WAL: could not undo a failed write to ${path}. Restart the daemon to recover from disk`,
        { file: path },
        { cause: err },
      );
    }
  }

  /** Starts the next segment, carrying the newest snapshot marker and hard state into it. */
  private async roll(): Promise<void> {
    const name: SegmentName = { seq: this.current.name.seq + 1, firstIndex: this.lastIndex + 1, file: '' };
    name.file = segmentFileName(name.seq, name.firstIndex);
    const records: WalRecord[] = [
      { type: 'segmentHeader', header: { seq: name.seq, firstIndex: name.firstIndex, prevTerm: this.lastTerm } },
    ];
    if (this.marker !== null) records.push({ type: 'snapshotMarker', marker: this.marker, mode: 'compact' });
    records.push({ type: 'hardState', hardState: this.hardState });
    const content = encodeRecords(records);
    const fh = await createFileDurable(this.dir, name.file, content);
    const old = this.current;
    this.current = { fh, name, sizeBytes: content.length, startBytes: content.length };
    this.segments.push(name);
    await old.fh.close();
  }
}

async function createFirstSegment(dir: string): Promise<WalRecovery> {
  const name: SegmentName = { seq: 1, firstIndex: 1, file: segmentFileName(1, 1) };
  const content = encodeRecords([{ type: 'segmentHeader', header: { seq: 1, firstIndex: 1, prevTerm: 0 } }]);
  const fh = await createFileDurable(dir, name.file, content);
  await fh.close();
  return {
    hardState: { ...EMPTY_HARD_STATE },
    snapshotMarker: null,
    entries: [],
    log: new RecoveredLog(0, 0),
    segments: [name],
    lastSegmentBytes: content.length,
    lastSegmentStartBytes: content.length,
    tornTail: null,
  };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
