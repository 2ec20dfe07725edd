/**
 * Opens a WAL directory: reads every segment, verifies every checksum, replays the records and
 * repairs a torn tail. A torn tail is what a crash during an unsynced write leaves at the end of
 * the last segment — never acknowledged, so it is cut. Anything else that fails a check is
 * corruption, and we refuse to start rather than silently lose acknowledged Raft state.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState } from '../../core/types.js';
import { DecodeError } from './binary.js';
import { WAL_TORN_TAIL_REPAIRED, ioError, walCorrupt } from './errors.js';
import type { BasicLogger } from '../../../../lib/logger.js';
import {
  checkFrame,
  decodePayload,
  isValidFrameAt,
  type FrameResult,
  type SnapshotMarker,
  type WalRecord,
} from './record.js';
import { RecoveredLog, Replay } from './replay.js';
import { listSegments, type SegmentName } from './segment-names.js';

/** Segments are at most the configurable limit plus one batch; larger files are not ours. */
export const SEGMENT_FILE_BYTES_MAX = 1024 * 1024 * 1024;
/** Disk sector size: a crash tears writes at sector granularity, leaving whole sectors unwritten. */
const SECTOR_BYTES = 512;

export interface TornTail {
  file: string;
  offsetBytes: number;
  cutBytes: number;
  reason: string;
}

export interface WalRecovery {
  hardState: HardState;
  /** The newest snapshot the WAL has recorded, or null if none. */
  snapshotMarker: SnapshotMarker | null;
  /** Entries after the snapshot marker (all entries if there is none). */
  entries: Entry[];
  /** Everything the WAL holds, including entries the newest snapshot covers (for falling back to an older one). */
  log: RecoveredLog;
  segments: SegmentName[];
  lastSegmentBytes: number;
  /** Bytes of the last segment's leading header and copies, before anything written into it. */
  lastSegmentStartBytes: number;
  tornTail: TornTail | null;
}

/** Recovers the WAL in dir, or returns null if dir holds no segments. */
export async function readWal(dir: string, logger: BasicLogger): Promise<WalRecovery | null> {
  const segments = await listSegments(dir);
  if (segments.length === 0) return null;
  const replay = new Replay();
  let lastSegmentBytes = 0;
  let lastSegmentStartBytes = 0;
  let tornTail: TornTail | null = null;
  for (const [i, segment] of segments.entries()) {
    const path = join(dir, segment.file);
    if (segment.seq !== segments[0]!.seq + i)
      throw walCorrupt(path, 0, `segment ${segments[0]!.seq + i} is missing before this file`);
    const isLast = i === segments.length - 1;
    const result = await readSegment(path, isLast, replay, segment);
    lastSegmentBytes = result.validBytes;
    lastSegmentStartBytes = result.startBytes;
    tornTail = result.tornTail;
  }
  if (tornTail !== null) logTornTail(logger, tornTail);
  const log = replay.log!;
  const entries = replay.marker === null ? log.entries : log.entriesAfter(replay.marker.index);
  return {
    hardState: replay.hardState,
    snapshotMarker: replay.marker,
    entries,
    log,
    segments,
    lastSegmentBytes,
    lastSegmentStartBytes,
    tornTail,
  };
}

async function readSegment(
  path: string,
  isLast: boolean,
  replay: Replay,
  segment: SegmentName,
): Promise<{ validBytes: number; startBytes: number; tornTail: TornTail | null }> {
  const sizeBytes = (await stat(path)).size;
  if (sizeBytes > SEGMENT_FILE_BYTES_MAX)
    throw walCorrupt(path, 0, `segment of ${sizeBytes} bytes exceeds the ${SEGMENT_FILE_BYTES_MAX}-byte bound`);
  const buf = await readFile(path);
  let offset = 0;
  let startBytes = 0;
  let tornTail: TornTail | null = null;
  while (offset < buf.length) {
    const frame = checkFrame(buf, offset, buf.length);
    if (frame.kind !== 'ok') {
      tornTail = classifyBadFrame(buf, offset, frame, isLast, path);
      await truncateDurably(path, offset);
      break;
    }
    const type = applyFrame(buf, offset, frame, replay, segment, path);
    if (startBytes === offset && type !== 'entries') startBytes = frame.next;
    offset = frame.next;
  }
  if (offset === 0) throw walCorrupt(path, 0, 'segment has no header record');
  return { validBytes: offset, startBytes, tornTail };
}

function applyFrame(
  buf: Buffer,
  offset: number,
  frame: Extract<FrameResult, { kind: 'ok' }>,
  replay: Replay,
  segment: SegmentName,
  path: string,
): WalRecord['type'] {
  let record;
  try {
    record = decodePayload(buf, frame.typeCode, frame.payloadStart, frame.next);
  } catch (err) {
    if (err instanceof DecodeError) throw walCorrupt(path, offset, `undecodable record (${err.message})`);
    throw err;
  }
  const violation = replay.apply(record, offset === 0, segment);
  if (violation !== null) throw walCorrupt(path, offset, violation);
  return record.type;
}

/** Returns the torn tail to cut, or throws WAL_CORRUPT if the damage cannot be a torn write. */
function classifyBadFrame(buf: Buffer, offset: number, frame: FrameResult, isLast: boolean, path: string): TornTail {
  const reason = frame.kind === 'ok' ? '' : frame.reason;
  if (!isLast) throw walCorrupt(path, offset, `${reason} in a segment that is not the last`);
  // A crash only tears the final write: valid records after the damage mean it is not a tear.
  for (let y = offset + 1; y < buf.length; y++) {
    if (isValidFrameAt(buf, y, buf.length))
      throw walCorrupt(path, offset, `${reason}, followed by a valid record at ${y}`);
  }
  // A complete frame with a bad checksum is a tear only if part of it was never written
  // (a whole sector still zero); otherwise it is a synced record that rotted: refuse.
  if (frame.kind === 'bad' && !hasUnwrittenSector(buf, offset, frameEnd(buf, offset))) {
    throw walCorrupt(path, offset, `${reason} in the last record`);
  }
  return { file: path, offsetBytes: offset, cutBytes: buf.length - offset, reason };
}

function frameEnd(buf: Buffer, offset: number): number {
  if (buf.length - offset < 4) return buf.length;
  const length = buf.readUInt32LE(offset);
  return Math.min(buf.length, offset + 8 + length);
}

/** True if some sector-aligned piece of buf[start, end) is all zeros (etcd's torn-entry test). */
function hasUnwrittenSector(buf: Buffer, start: number, end: number): boolean {
  let chunkStart = start;
  while (chunkStart < end) {
    const chunkEnd = Math.min(end, (Math.floor(chunkStart / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    let zero = true;
    for (let i = chunkStart; i < chunkEnd && zero; i++) zero = buf[i] === 0;
    if (zero) return true;
    chunkStart = chunkEnd;
  }
  return false;
}

async function truncateDurably(path: string, sizeBytes: number): Promise<void> {
  try {
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(sizeBytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw ioError(err, 'cutting the torn tail of the WAL', path);
  }
}

function logTornTail(logger: BasicLogger, t: TornTail): void {
  logger.warn(
    { code: WAL_TORN_TAIL_REPAIRED, file: t.file, offsetBytes: t.offsetBytes, cutBytes: t.cutBytes, reason: t.reason },
    `raft WAL: cut a torn tail of ${t.cutBytes} bytes at byte ${t.offsetBytes} of ${t.file} (${t.reason}); ` +
      'it was an unfinished write from before a crash, never acknowledged',
  );
}
