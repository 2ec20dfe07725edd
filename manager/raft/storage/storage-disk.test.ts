import { readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskStorage } from './storage-disk.js';
import { MemoryStorage } from '../core/memory-storage.js';
import { CompactedError, UnavailableError } from '../core/storage.js';
import type { ConfState } from '../core/types.js';
import { makeEntries, makeTempDir, plain, recordingLogger, removeDir } from './wal/testing/wal-fixtures.js';

let dir: string;
let open: DiskStorage[] = [];
beforeEach(async () => {
  dir = await makeTempDir('storage');
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  await removeDir(dir);
});

const CONF: ConfState = { voters: ['m1', 'm2', 'm3'], learners: [] };
const SMALL = { segmentBytesLimit: 4096 };

async function openStorage(options: Parameters<typeof DiskStorage.open>[1] = SMALL): Promise<DiskStorage> {
  const s = await DiskStorage.open(dir, options);
  open.push(s);
  return s;
}

async function reopen(s: DiskStorage, options = SMALL): Promise<DiskStorage> {
  await s.close();
  open = open.filter((x) => x !== s);
  return openStorage(options);
}

describe('DiskStorage', () => {
  it('starts empty', async () => {
    const s = await openStorage();
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: '', commit: 0 },
      confState: { voters: [], learners: [] },
    });
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
    expect(s.entries(1, 1, 100)).toEqual([]);
    expect(() => s.term(1)).toThrow(UnavailableError);
  });

  it('reads back saved entries and hard state after reopen, with the size bound and range errors', async () => {
    let s = await openStorage();
    await s.save({ term: 2, vote: 'm1', commit: 3 }, makeEntries(1, 10, 2, 100));
    s = await reopen(s);
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 'm1', commit: 3 });
    expect(plain(s.entries(1, 11, 1e9))).toEqual(plain(makeEntries(1, 10, 2, 100)));
    expect(s.entries(3, 11, 250).map((e) => e.index)).toEqual([3, 4]);
    expect(s.entries(3, 11, 0).map((e) => e.index)).toEqual([3]); // always at least one
    expect(() => s.entries(0, 2, 100)).toThrow(CompactedError);
    expect(() => s.entries(5, 12, 100)).toThrow(UnavailableError);
    expect(s.term(10)).toBe(2);
  });

  it('truncates a conflicting suffix on append, durably', async () => {
    let s = await openStorage();
    await s.append(makeEntries(1, 10, 1));
    await s.append(makeEntries(6, 7, 3));
    expect(s.lastIndex()).toBe(7);
    s = await reopen(s);
    expect(plain(s.entries(1, 8, 1e9))).toEqual(plain([...makeEntries(1, 5, 1), ...makeEntries(6, 7, 3)]));
    await expect(s.append(makeEntries(9, 9, 3))).rejects.toThrow(/no gap/);
  });

  it('creates snapshots, compacts, releases WAL segments, and recovers from the snapshot', async () => {
    let s = await openStorage();
    for (let i = 0; i < 10; i++)
      await s.save({ term: 1, vote: 'm1', commit: i * 10 + 10 }, makeEntries(i * 10 + 1, i * 10 + 10, 1, 100));
    const segmentsBefore = (await readdir(join(dir, 'wal'))).length;
    await s.createSnapshot(40, CONF, Buffer.from('state@40'));
    await s.createSnapshot(80, CONF, Buffer.from('state@80'));
    expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 100]); // not compacted yet
    s.compact(80);
    expect([s.firstIndex(), s.lastIndex(), s.term(80)]).toEqual([81, 100, 1]);
    expect(() => s.term(79)).toThrow(CompactedError);
    expect((await readdir(join(dir, 'wal'))).length).toBeLessThan(segmentsBefore);
    s = await reopen(s);
    expect(s.snapshot().metadata).toEqual({ index: 80, term: 1, confState: CONF });
    expect(Buffer.from(s.snapshot().data).toString()).toBe('state@80');
    expect(s.initialState().confState).toEqual(CONF);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([81, 100]);
    expect(plain(s.entries(81, 101, 1e9))).toEqual(plain(makeEntries(81, 100, 1, 100)));
  });

  it('applies a leader snapshot that replaces the log, and continues after it', async () => {
    let s = await openStorage();
    await s.save({ term: 1, vote: 'm1', commit: 3 }, makeEntries(1, 5, 1));
    await s.applySnapshot({ metadata: { index: 500, term: 4, confState: CONF }, data: Buffer.from('leader') });
    expect([s.firstIndex(), s.lastIndex(), s.initialState().hardState.commit]).toEqual([501, 500, 500]);
    await s.append(makeEntries(501, 503, 4));
    s = await reopen(s);
    expect(s.snapshot().metadata.index).toBe(500);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: 'm1', commit: 500 });
    expect(plain(s.entries(501, 504, 1e9))).toEqual(plain(makeEntries(501, 503, 4)));
  });

  it('bootstraps a new cluster from a configuration-only snapshot at index 0', async () => {
    let s = await openStorage();
    await s.applySnapshot({ metadata: { index: 0, term: 0, confState: CONF }, data: new Uint8Array() });
    await s.save({ term: 1, vote: 'm1', commit: 1 }, makeEntries(1, 1, 1));
    s = await reopen(s);
    expect(s.initialState()).toEqual({ hardState: { term: 1, vote: 'm1', commit: 1 }, confState: CONF });
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 1, 0]);
  });

  it('falls back to the older snapshot and replays the WAL when the newest file is corrupt', async () => {
    const logger = recordingLogger();
    let s = await openStorage({ ...SMALL, logger });
    for (let i = 0; i < 10; i++)
      await s.save({ term: 1, vote: 'm1', commit: i * 10 + 10 }, makeEntries(i * 10 + 1, i * 10 + 10, 1, 100));
    await s.createSnapshot(40, CONF, Buffer.from('state@40'));
    await s.createSnapshot(80, CONF, Buffer.from('state@80'));
    await s.close();
    open = [];
    const newest = join(dir, 'snap', '0000000000000001-0000000000000050.snap');
    const buf = await readFile(newest);
    buf[buf.length - 1]! ^= 0xff;
    await writeFile(newest, buf);
    s = await openStorage({ ...SMALL, logger });
    expect(Buffer.from(s.snapshot().data).toString()).toBe('state@40');
    expect([s.firstIndex(), s.lastIndex()]).toEqual([41, 100]);
    expect(plain(s.entries(41, 101, 1e9))).toEqual(plain(makeEntries(41, 100, 1, 100)));
    expect(logger.records.some((r) => r.level === 'warn')).toBe(true);
  });

  it('refuses to open when no usable snapshot backs the WAL', async () => {
    const s = await openStorage();
    await s.append(makeEntries(1, 10, 1));
    await s.createSnapshot(5, CONF, Buffer.from('x'));
    await s.close();
    open = [];
    const file = join(dir, 'snap', '0000000000000001-0000000000000005.snap');
    const buf = await readFile(file);
    buf[30]! ^= 1;
    await writeFile(file, buf);
    await expect(DiskStorage.open(dir, SMALL)).rejects.toMatchObject({ code: 'SNAPSHOT_CORRUPT' });
    await unlink(`${file}.broken`);
    await expect(DiskStorage.open(dir, SMALL)).rejects.toMatchObject({ code: 'SNAPSHOT_MISSING' });
  });

  it('answers reads exactly as MemoryStorage does, before and after reopen (randomized)', async () => {
    let s = await openStorage();
    const m = new MemoryStorage();
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let term = 1;
    for (let step = 0; step < 150; step++) {
      const op = rand(10);
      if (op < 7) {
        const from = Math.max(s.firstIndex(), s.lastIndex() + 1 - rand(4));
        if (rand(3) === 0) term++;
        const entries = makeEntries(from, from + rand(5), term, 10 + rand(50));
        await s.append(entries);
        m.append(entries);
      } else if (op < 9 && s.lastIndex() > s.snapshot().metadata.index) {
        const index = s.snapshot().metadata.index + 1 + rand(s.lastIndex() - s.snapshot().metadata.index);
        await s.createSnapshot(index, CONF, Buffer.from(`s${index}`));
        m.createSnapshot(index, CONF, Buffer.from(`s${index}`));
        // Sometimes keep entries behind the snapshot, as a leader does for slow followers.
        const compactTo = index - rand(3);
        s.compact(compactTo);
        m.compact(compactTo);
      } else {
        s = await reopen(s);
        // A restart starts the log at the snapshot, as etcd's does.
        m.compact(m.snapshot().metadata.index);
      }
      expect([s.firstIndex(), s.lastIndex()]).toEqual([m.firstIndex(), m.lastIndex()]);
      expect(plain(s.entries(s.firstIndex(), s.lastIndex() + 1, 1e9))).toEqual(
        plain(m.entries(m.firstIndex(), m.lastIndex() + 1, 1e9)),
      );
      expect(s.term(s.firstIndex() - 1)).toBe(m.term(m.firstIndex() - 1));
    }
  });
});
