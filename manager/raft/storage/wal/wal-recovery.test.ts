import { cp, readFile, stat, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HardState } from '../../core/types.js';
import { asTswarmError } from '../../../../lib/errors.js';
import { WalError } from './errors.js';
import { checkFrame, encodeRecords, entriesRecords } from './record.js';
import { makeEntries, makeTempDir, plain, recordingLogger, removeDir } from './testing/wal-fixtures.js';
import { Wal } from './wal.js';

let dir: string;
const cleanup: string[] = [];
beforeEach(async () => {
  dir = await makeTempDir('walrec');
  cleanup.push(dir);
});
afterEach(async () => {
  for (const d of cleanup.splice(0)) await removeDir(d);
});

const SEGMENT_BYTES = 4096;
const HS1: HardState = { term: 1, vote: 'node-a', commit: 20 };
const HS2: HardState = { term: 2, vote: 'node-b', commit: 42 };

/** A WAL over a few segments; returns the last segment's path. */
async function writeBase(): Promise<string> {
  const { wal } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
  for (let i = 0; i < 8; i++) await wal.save(HS1, makeEntries(i * 5 + 1, i * 5 + 5, 1, 100));
  const last = join(dir, wal.segmentFiles.at(-1)!);
  await wal.close();
  return last;
}

function frameOffsets(buf: Buffer): number[] {
  const offsets: number[] = [];
  for (let off = 0; off < buf.length;) {
    const f = checkFrame(buf, off, buf.length);
    if (f.kind !== 'ok') throw new Error(`unexpected bad frame at ${off}`);
    offsets.push(off);
    off = f.next;
  }
  return offsets;
}

async function expectCorrupt(file: string, offsetBytes: number): Promise<void> {
  const err = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WalError);
  expect((err as WalError).code).toBe('WAL_CORRUPT');
  expect((err as WalError).file).toBe(file);
  expect((err as WalError).offsetBytes).toBe(offsetBytes);
  expect((err as WalError).message).toContain(file);
  expect((err as WalError).message).toMatch(/peer/);
  // To the daemon and its callers it is DATA_CORRUPT (gRPC DATA_LOSS), the message unchanged.
  expect(asTswarmError(err)).toMatchObject({
    code: 'DATA_CORRUPT',
    grpcStatus: 15,
    message: (err as WalError).message,
  });
}

describe('torn tail repair', () => {
  it('recovers the last fully written state for a cut at every byte of the last save', async () => {
    const lastPath = await writeBase();
    const sizeBefore = (await stat(lastPath)).size;
    const newEntries = makeEntries(41, 43, 2, 20);
    const { wal } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    await wal.save(HS2, newEntries);
    expect(join(dir, wal.segmentFiles.at(-1)!)).toBe(lastPath);
    await wal.close();
    const sizeAfter = (await stat(lastPath)).size;
    const entriesEnd = sizeBefore + encodeRecords(entriesRecords(newEntries, 1 << 20)).length;
    const pristine = join(dir, '..', `${dir.split('/').at(-1)}-pristine`);
    cleanup.push(pristine);
    await cp(dir, pristine, { recursive: true });

    for (let cut = sizeBefore; cut <= sizeAfter; cut++) {
      await removeDir(dir);
      await cp(pristine, dir, { recursive: true });
      await truncate(lastPath, cut);
      const logger = recordingLogger();
      const { wal: w, recovery } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES, logger });
      await w.close();
      const boundary = cut === sizeAfter ? sizeAfter : cut >= entriesEnd ? entriesEnd : sizeBefore;
      const entries = makeEntries(1, 40, 1, 100);
      if (boundary >= entriesEnd) entries.push(...newEntries);
      expect(plain(recovery.entries)).toEqual(plain(entries));
      expect(recovery.hardState).toEqual(boundary === sizeAfter ? HS2 : HS1);
      expect((await stat(lastPath)).size).toBe(boundary);
      const torn = cut !== boundary;
      expect(recovery.tornTail !== null).toBe(torn);
      expect(logger.records.some((r) => (r.obj as { code?: string }).code === 'WAL_TORN_TAIL_REPAIRED')).toBe(torn);
    }
  });

  it('keeps working after a repair, and the repair itself is durable', async () => {
    const lastPath = await writeBase();
    await truncate(lastPath, (await stat(lastPath)).size - 3);
    const { wal, recovery } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    expect(recovery.tornTail?.cutBytes).toBeGreaterThan(0);
    const lastIndex = recovery.entries.at(-1)!.index;
    await wal.save(HS2, makeEntries(lastIndex + 1, lastIndex + 2, 2));
    await wal.close();
    const again = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    expect(again.recovery.tornTail).toBeNull();
    expect(again.recovery.entries.at(-1)!.index).toBe(lastIndex + 2);
    expect(again.recovery.hardState).toEqual(HS2);
    await again.wal.close();
  });

  it('cuts zeros left by a file extended past its written data', async () => {
    const lastPath = await writeBase();
    const size = (await stat(lastPath)).size;
    await appendFile(lastPath, Buffer.alloc(8192));
    const { wal, recovery } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    await wal.close();
    expect(recovery.tornTail).toMatchObject({ offsetBytes: size, cutBytes: 8192 });
    expect(recovery.entries.at(-1)!.index).toBe(40);
  });

  it('cuts a complete last record whose sector was never written', async () => {
    await writeBase();
    const { wal } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    await wal.save(null, makeEntries(41, 41, 1, 3000)); // one record spanning several sectors
    const lastPath = join(dir, wal.segmentFiles.at(-1)!);
    await wal.close();
    const buf = await readFile(lastPath);
    const start = frameOffsets(buf).at(-1)!;
    const sector = Math.ceil((start + 100) / 512) * 512;
    buf.fill(0, sector, sector + 512);
    await writeFile(lastPath, buf);
    const again = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    await again.wal.close();
    expect(again.recovery.tornTail?.offsetBytes).toBe(start);
    expect(again.recovery.entries.at(-1)!.index).toBe(40);
  });
});

describe('corruption is refused', () => {
  it('a bit flipped anywhere in a record in the middle of the last segment is refused, naming file and offset', async () => {
    const lastPath = await writeBase();
    const buf = await readFile(lastPath);
    const offsets = frameOffsets(buf);
    expect(offsets.length).toBeGreaterThan(3);
    const victim = offsets[Math.floor(offsets.length / 2)]!;
    const end = offsets[offsets.indexOf(victim) + 1]!;
    for (let byte = victim; byte < end; byte++) {
      // Every bit of the frame header and type; one bit per payload byte keeps the run short.
      const bits = byte <= victim + 8 ? [0, 1, 2, 3, 4, 5, 6, 7] : [byte % 8];
      for (const bit of bits) {
        buf[byte]! ^= 1 << bit;
        await writeFile(lastPath, buf);
        await expectCorrupt(lastPath, victim);
        buf[byte]! ^= 1 << bit;
      }
    }
    await writeFile(lastPath, buf);
    expect(
      (await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES }).then(async ({ wal }) => wal.close())) ?? 'ok',
    ).toBe('ok');
  });

  it('a flipped bit anywhere in a segment that is not the last is refused', async () => {
    await writeBase();
    const first = join(dir, '0000000000000001-0000000000000001.wal');
    const buf = await readFile(first);
    const offsets = frameOffsets(buf);
    for (const [i, start] of offsets.entries()) {
      const end = offsets[i + 1] ?? buf.length;
      for (const byte of [start, start + 5, start + 8, end - 1]) {
        buf[byte]! ^= 0x10;
        await writeFile(first, buf);
        await expectCorrupt(first, start);
        buf[byte]! ^= 0x10;
      }
    }
    // The damaged file was never modified by the refusals.
    expect((await readFile(first)).length).toBe(buf.length);
  });

  it('a cut in a segment that is not the last is refused', async () => {
    await writeBase();
    const first = join(dir, '0000000000000001-0000000000000001.wal');
    const size = (await stat(first)).size;
    await truncate(first, size - 10);
    const err = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPT', file: first });
  });

  it('a synced last record that rotted (no unwritten sector) is refused', async () => {
    const lastPath = await writeBase();
    const buf = await readFile(lastPath);
    const last = frameOffsets(buf).at(-1)!;
    buf[buf.length - 2]! ^= 0x01;
    await writeFile(lastPath, buf);
    await expectCorrupt(lastPath, last);
  });

  it('a missing segment in the middle is refused', async () => {
    const { wal } = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES });
    for (let i = 0; i < 30; i++) await wal.save(HS1, makeEntries(i * 5 + 1, i * 5 + 5, 1, 100));
    const files = [...wal.segmentFiles];
    await wal.close();
    expect(files.length).toBeGreaterThan(2);
    await unlink(join(dir, files[1]!));
    const err = await Wal.open(dir, { segmentBytesLimit: SEGMENT_BYTES }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPT', file: join(dir, files[2]!), offsetBytes: 0 });
  });
});
