/**
 * WAL record framing: length (u32, of type + payload) | CRC-32C (u32, over type + payload) |
 * type (u8) | payload. Little-endian. A save() encodes all its records into one Buffer, so the
 * whole batch reaches the disk in one write and one fsync.
 */
import { assert } from '../../../../lib/assert.js';
import type { Entry, EntryType, HardState } from '../../core/types.js';
import { DecodeError, Reader, Writer } from './binary.js';
import { crc32c } from './crc32c.js';

export const RECORD_HEADER_BYTES = 8;
/**
 * The largest type + payload a record may hold. Bounds what a corrupt length field can make
 * recovery allocate, and what one entry may carry (store transactions are far smaller).
 */
export const RECORD_BYTES_MAX = 128 * 1024 * 1024;
export const ENTRY_DATA_BYTES_MAX = 64 * 1024 * 1024;
const VOTE_BYTES_MAX = 1024;
const SEGMENT_MAGIC = 0x4c575354; // "TSWL"
const FORMAT_VERSION = 1;

const TYPE_CODES = { segmentHeader: 1, entries: 2, hardState: 3, snapshotMarker: 4 } as const;

export interface SnapshotMarker {
  index: number;
  term: number;
}

/**
 * 'compact': the snapshot covers a prefix of the log the WAL holds (entries after it stay).
 * 'restore': the log was replaced by a snapshot from the leader (entries after it are dropped).
 */
export type MarkerMode = 'compact' | 'restore';

export interface SegmentHeader {
  seq: number;
  /** The index the next entry had when this segment was started (lastIndex + 1). */
  firstIndex: number;
  /** The term of entry firstIndex - 1, so the log's base is known if earlier segments are released. */
  prevTerm: number;
}

export type WalRecord =
  | { type: 'segmentHeader'; header: SegmentHeader }
  | { type: 'entries'; entries: Entry[] }
  | { type: 'hardState'; hardState: HardState }
  | { type: 'snapshotMarker'; marker: SnapshotMarker; mode: MarkerMode };

const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;

export function entryEncodedBytes(e: Entry): number {
  return ENTRY_FIXED_BYTES + e.data.length;
}

function payloadBytes(r: WalRecord): number {
  switch (r.type) {
    case 'segmentHeader':
      return 4 + 1 + 8 + 8 + 8;
    case 'snapshotMarker':
      return 8 + 8 + 1;
    case 'hardState':
      return 8 + 8 + 2 + Buffer.byteLength(r.hardState.vote, 'utf8');
    case 'entries':
      return 4 + r.entries.reduce((n, e) => n + entryEncodedBytes(e), 0);
  }
}

function writePayload(w: Writer, r: WalRecord): void {
  switch (r.type) {
    case 'segmentHeader':
      w.u32(SEGMENT_MAGIC);
      w.u8(FORMAT_VERSION);
      w.u64(r.header.seq);
      w.u64(r.header.firstIndex);
      w.u64(r.header.prevTerm);
      return;
    case 'snapshotMarker':
      w.u64(r.marker.index);
      w.u64(r.marker.term);
      w.u8(r.mode === 'restore' ? 1 : 0);
      return;
    case 'hardState': {
      const vote = Buffer.from(r.hardState.vote, 'utf8');
      assert(vote.length <= VOTE_BYTES_MAX, 'a vote is a node ID, at most 1 KiB');
      w.u64(r.hardState.term);
      w.u64(r.hardState.commit);
      w.u16(vote.length);
      w.bytes(vote);
      return;
    }
    case 'entries':
      w.u32(r.entries.length);
      for (const e of r.entries) {
        w.u64(e.index);
        w.u64(e.term);
        w.u8(e.type === 'confChange' ? 1 : 0);
        w.u32(e.data.length);
        w.bytes(e.data);
      }
      return;
  }
}

/** Frames records into one Buffer (one allocation, one write). */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  const sizes = records.map(payloadBytes);
  const total = sizes.reduce((n, s) => n + RECORD_HEADER_BYTES + 1 + s, 0);
  const buf = Buffer.allocUnsafe(total);
  const w = new Writer(buf);
  records.forEach((r, i) => {
    const start = w.pos;
    const length = 1 + sizes[i]!;
    assert(length <= RECORD_BYTES_MAX, 'a record fits the record size bound');
    w.u32(length);
    w.u32(0); // CRC, filled below once the bytes it covers are written
    w.u8(TYPE_CODES[r.type]);
    writePayload(w, r);
    assert(w.pos === start + RECORD_HEADER_BYTES + length, 'a record is exactly as long as its size says');
    buf.writeUInt32LE(crc32c(buf, start + RECORD_HEADER_BYTES, w.pos), start + 4);
  });
  assert(w.pos === total, 'records fill the batch buffer exactly');
  return buf;
}

export type FrameResult =
  | { kind: 'ok'; typeCode: number; payloadStart: number; next: number }
  /** The bytes end before the record does: what a write cut short by a crash leaves. */
  | { kind: 'short'; reason: string }
  /** A complete frame whose length is impossible or whose checksum does not match. */
  | { kind: 'bad'; reason: string };

/** Checks the frame at `offset` in buf[0, end) without decoding its payload. */
export function checkFrame(buf: Buffer, offset: number, end: number): FrameResult {
  if (end - offset < RECORD_HEADER_BYTES) return { kind: 'short', reason: 'record header cut short' };
  const length = buf.readUInt32LE(offset);
  if (length === 0 || length > RECORD_BYTES_MAX) return { kind: 'bad', reason: `impossible record length ${length}` };
  const next = offset + RECORD_HEADER_BYTES + length;
  if (next > end)
    return { kind: 'short', reason: `record of ${length} bytes cut short at ${end - offset - RECORD_HEADER_BYTES}` };
  const crc = crc32c(buf, offset + RECORD_HEADER_BYTES, next);
  if (crc !== buf.readUInt32LE(offset + 4)) return { kind: 'bad', reason: 'record checksum mismatch' };
  return {
    kind: 'ok',
    typeCode: buf[offset + RECORD_HEADER_BYTES]!,
    payloadStart: offset + RECORD_HEADER_BYTES + 1,
    next,
  };
}

/** True if a plausible, checksum-valid record starts at `offset` (used to tell corruption from a torn tail). */
export function isValidFrameAt(buf: Buffer, offset: number, end: number): boolean {
  if (end - offset < RECORD_HEADER_BYTES + 1) return false;
  const typeCode = buf[offset + RECORD_HEADER_BYTES]!;
  // Cheap filters first: most offsets in garbage or zeros fail here without a checksum pass.
  if (typeCode < TYPE_CODES.segmentHeader || typeCode > TYPE_CODES.snapshotMarker) return false;
  const length = buf.readUInt32LE(offset);
  if (length === 0 || length > end - offset - RECORD_HEADER_BYTES) return false;
  return checkFrame(buf, offset, end).kind === 'ok';
}

/** Decodes a checked frame's payload. Throws DecodeError on anything malformed. */
export function decodePayload(buf: Buffer, typeCode: number, payloadStart: number, end: number): WalRecord {
  const r = new Reader(buf, payloadStart, end);
  const record = decodeByType(r, typeCode);
  r.expectEnd();
  return record;
}

function decodeByType(r: Reader, typeCode: number): WalRecord {
  switch (typeCode) {
    case TYPE_CODES.segmentHeader: {
      if (r.u32() !== SEGMENT_MAGIC) throw new DecodeError('not a tswarm WAL segment header');
      const version = r.u8();
      if (version !== FORMAT_VERSION) throw new DecodeError(`unsupported WAL format version ${version}`);
      return { type: 'segmentHeader', header: { seq: r.u64(), firstIndex: r.u64(), prevTerm: r.u64() } };
    }
    case TYPE_CODES.snapshotMarker: {
      const marker = { index: r.u64(), term: r.u64() };
      const mode = r.u8();
      if (mode > 1) throw new DecodeError(`unknown snapshot marker mode ${mode}`);
      return { type: 'snapshotMarker', marker, mode: mode === 1 ? 'restore' : 'compact' };
    }
    case TYPE_CODES.hardState: {
      const term = r.u64();
      const commit = r.u64();
      const vote = r.utf8(r.u16());
      return { type: 'hardState', hardState: { term, vote, commit } };
    }
    case TYPE_CODES.entries:
      return { type: 'entries', entries: decodeEntries(r) };
    default:
      throw new DecodeError(`unknown record type ${typeCode}`);
  }
}

function decodeEntries(r: Reader): Entry[] {
  const count = r.u32();
  // Each entry takes at least its fixed bytes: a count larger than that is a lie, not an allocation.
  if (count * ENTRY_FIXED_BYTES > r.end - r.pos) throw new DecodeError(`entry count ${count} exceeds the record`);
  const entries: Entry[] = new Array<Entry>(count);
  for (let i = 0; i < count; i++) {
    const index = r.u64();
    const term = r.u64();
    const typeCode = r.u8();
    if (typeCode > 1) throw new DecodeError(`unknown entry type ${typeCode}`);
    const type: EntryType = typeCode === 1 ? 'confChange' : 'normal';
    entries[i] = { index, term, type, data: r.bytes(r.u32()) };
  }
  return entries;
}

/**
 * Splits a batch into entries records of about recordBytesTarget each (at least one entry per
 * record), so no single record approaches the size bound however large the batch.
 */
export function entriesRecords(entries: readonly Entry[], recordBytesTarget: number): WalRecord[] {
  const records: WalRecord[] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = entryEncodedBytes(e);
    if (current.length > 0 && bytes + size > recordBytesTarget) {
      records.push({ type: 'entries', entries: current });
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) records.push({ type: 'entries', entries: current });
  return records;
}
