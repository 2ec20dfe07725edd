/**
 * Segment files are named <seq>-<firstIndex>.wal, both 16 hex digits, so a directory listing
 * sorts in log order and an operator can see which indexes a file starts at.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SegmentName {
  seq: number;
  firstIndex: number;
  file: string;
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
const HEX_DIGITS = 16;

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(HEX_DIGITS, '0')}-${firstIndex.toString(16).padStart(HEX_DIGITS, '0')}.wal`;
}

export function parseSegmentFileName(file: string): SegmentName | null {
  const m = SEGMENT_RE.exec(file);
  if (m === null) return null;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return null;
  return { seq, firstIndex, file };
}

/**
 * The segments in dir, in sequence order. Leftover temp files (a crash while creating a segment)
 * are removed: their rename never happened, so nothing in them was acknowledged.
 */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const segments: SegmentName[] = [];
  for (const file of await readdir(dir)) {
    if (file.endsWith('.wal.tmp')) {
      await unlink(join(dir, file));
      continue;
    }
    const parsed = parseSegmentFileName(file);
    if (parsed !== null) segments.push(parsed);
  }
  return segments.sort((a, b) => a.seq - b.seq);
}
