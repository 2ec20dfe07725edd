/**
 * Rebuilds the log from WAL records, in write order, and checks every invariant the writer keeps.
 * A broken invariant in checksum-valid records means a bug or tampering, never a crash, so the
 * caller refuses to start rather than guess.
 */
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../../core/types.js';
import type { SegmentName } from './segment-names.js';
import type { SegmentHeader, SnapshotMarker, WalRecord } from './record.js';

/**
 * The entries the WAL holds: entries[i] has raft log position prevIndex + 1 + i. prevTerm is the
 * term of entry prevIndex, undefined when that is unknown (earlier segments released and the
 * first remaining one rewrote entries below its start).
 */
export class RecoveredLog {
  entries: Entry[] = [];

  constructor(
    public prevIndex: number,
    public prevTerm: number | undefined,
  ) {}

  get lastIndex(): number {
    return this.prevIndex + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.prevIndex) return this.prevTerm;
    if (index < this.prevIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.prevIndex - 1]!.term;
  }

  /** Entries with index > `index` (which must be within the log). */
  entriesAfter(index: number): Entry[] {
    return this.entries.slice(Math.max(0, index - this.prevIndex));
  }
}

/** Applies records; each method returns what invariant broke, or null. */
export class Replay {
  log: RecoveredLog | undefined;
  hardState: HardState = { ...EMPTY_HARD_STATE };
  marker: SnapshotMarker | null = null;

  apply(record: WalRecord, firstInSegment: boolean, segment: SegmentName): string | null {
    if ((record.type === 'segmentHeader') !== firstInSegment) {
      return firstInSegment ? 'segment does not start with a header record' : 'header record inside a segment';
    }
    if (record.type === 'segmentHeader') return this.header(record.header, segment);
    const log = this.log!;
    switch (record.type) {
      case 'hardState':
        return this.setHardState(record.hardState);
      case 'snapshotMarker':
        return this.snapshotMarker(log, record.marker, record.mode);
      case 'entries':
        return this.append(log, record.entries);
    }
  }

  private header(h: SegmentHeader, segment: SegmentName): string | null {
    if (h.seq !== segment.seq || h.firstIndex !== segment.firstIndex) {
      return `header (seq ${h.seq}, first index ${h.firstIndex}) does not match the file name`;
    }
    if (this.log === undefined) {
      this.log = new RecoveredLog(h.firstIndex - 1, h.prevTerm);
      return null;
    }
    if (h.firstIndex !== this.log.lastIndex + 1) {
      return `segment starts at index ${h.firstIndex} but the log before it ends at ${this.log.lastIndex}`;
    }
    const prevTerm = this.log.termAt(h.firstIndex - 1);
    if (prevTerm !== undefined && prevTerm !== h.prevTerm)
      return `segment's previous term ${h.prevTerm} is not the log's ${prevTerm}`;
    return null;
  }

  private setHardState(hs: HardState): string | null {
    if (hs.term < this.hardState.term) return `hard state term went back from ${this.hardState.term} to ${hs.term}`;
    if (hs.commit < this.hardState.commit)
      return `commit index went back from ${this.hardState.commit} to ${hs.commit}`;
    this.hardState = hs;
    return null;
  }

  private snapshotMarker(log: RecoveredLog, m: SnapshotMarker, mode: 'compact' | 'restore'): string | null {
    if (this.marker !== null && m.index < this.marker.index) return `snapshot marker went back to index ${m.index}`;
    this.marker = m;
    if (mode === 'restore') {
      this.log = new RecoveredLog(m.index, m.term);
      return null;
    }
    // A marker below the log's start is the copy a segment carries of an older snapshot whose
    // entries were released with earlier segments: it only says which snapshot was newest then.
    if (m.index < log.prevIndex) return null;
    if (m.index > log.lastIndex) return `snapshot marker at ${m.index} is beyond the log's last index ${log.lastIndex}`;
    const term = log.termAt(m.index);
    if (term !== undefined && term !== m.term)
      return `snapshot marker term ${m.term} is not the log's term ${term} at ${m.index}`;
    return null;
  }

  private append(log: RecoveredLog, batch: Entry[]): string | null {
    if (batch.length === 0) return 'empty entries record';
    const first = batch[0]!;
    for (let i = 1; i < batch.length; i++) {
      if (batch[i]!.index !== first.index + i) return 'entries in a record are not consecutive';
      if (batch[i]!.term < batch[i - 1]!.term) return 'entry terms decrease within a record';
    }
    if (this.marker !== null && first.index <= this.marker.index) {
      return `entry ${first.index} is at or below the snapshot at ${this.marker.index}`;
    }
    if (first.index > log.lastIndex + 1) return `gap in the log: entry ${first.index} after ${log.lastIndex}`;
    if (first.index <= log.prevIndex) {
      // Overwrites of entries whose older copies lived in released segments: the log now starts here.
      log.prevIndex = first.index - 1;
      log.prevTerm = undefined;
      log.entries = [];
    }
    const prevTerm = log.termAt(first.index - 1);
    if (prevTerm !== undefined && first.term < prevTerm)
      return `entry ${first.index}'s term ${first.term} is below the previous entry's ${prevTerm}`;
    log.entries.length = first.index - log.prevIndex - 1;
    for (const e of batch) log.entries.push(e);
    return null;
  }
}
