import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, HardState } from '../../core/types.js';
import { Wal } from './wal.js';
import { makeEntries, makeTempDir, plain, removeDir } from './testing/wal-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('wal');
});
afterEach(async () => {
  await removeDir(dir);
});

const SMALL_SEGMENT_BYTES = 4096;

async function reopen(options = { segmentBytesLimit: SMALL_SEGMENT_BYTES }) {
  return Wal.open(dir, options);
}

describe('Wal round trip', () => {
  it('starts empty in a new directory', async () => {
    const { wal, recovery } = await reopen();
    expect(recovery.hardState).toEqual({ term: 0, vote: '', commit: 0 });
    expect(recovery.entries).toEqual([]);
    expect(recovery.snapshotMarker).toBeNull();
    await wal.close();
  });

  it('reads back hard states and entry batches written across several segments', async () => {
    let { wal } = await reopen();
    const all: Entry[] = [];
    let hs: HardState = { term: 0, vote: '', commit: 0 };
    for (let batch = 0; batch < 40; batch++) {
      const term = 1 + Math.floor(batch / 10);
      const entries = makeEntries(batch * 5 + 1, batch * 5 + 5, term, 50 + batch);
      hs = { term, vote: `node-${term}`, commit: batch * 5 };
      await wal.save(hs, entries);
      all.push(...entries);
    }
    expect(wal.segmentFiles.length).toBeGreaterThan(3);
    await wal.close();

    const second = await reopen();
    wal = second.wal;
    expect(second.recovery.hardState).toEqual(hs);
    expect(plain(second.recovery.entries)).toEqual(plain(all));
    expect(second.recovery.tornTail).toBeNull();
    // The WAL keeps working after a reopen.
    const more = makeEntries(201, 210, 5);
    await wal.save({ term: 5, vote: 'node-5', commit: 205 }, more);
    await wal.close();
    const third = await reopen();
    expect(plain(third.recovery.entries)).toEqual(plain([...all, ...more]));
    expect(third.recovery.hardState.commit).toBe(205);
    await third.wal.close();
  });

  it("saves with a blocking fsync (a follower's) the same way, mixed with pooled ones", async () => {
    const { wal } = await reopen();
    for (let i = 0; i < 20; i++)
      await wal.save({ term: 1, vote: 'a', commit: i }, makeEntries(i + 1, i + 1, 1, 40), {
        blockingSync: i % 2 === 0,
      });
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(recovery.entries.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(recovery.hardState.commit).toBe(19);
    await w2.close();
  });

  it('names segments by sequence and first index', async () => {
    const { wal } = await reopen();
    for (let i = 0; i < 10; i++) await wal.save(null, makeEntries(i * 10 + 1, i * 10 + 10, 1, 100));
    await wal.close();
    const files = (await readdir(dir)).sort();
    expect(files[0]).toBe('0000000000000001-0000000000000001.wal');
    expect(files.every((f) => /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/.test(f))).toBe(true);
  });

  it('serializes saves that the caller did not await one by one', async () => {
    const { wal } = await reopen();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => wal.save({ term: 1, vote: 'a', commit: i }, makeEntries(i + 1, i + 1, 1))),
    );
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(recovery.entries.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(recovery.hardState.commit).toBe(19);
    await w2.close();
  });

  it('refuses writes that would break the log invariants, writing nothing', async () => {
    const { wal } = await reopen();
    await wal.save(null, makeEntries(1, 3, 2));
    await expect(wal.save(null, makeEntries(5, 6, 2))).rejects.toThrow(/no gap/);
    await expect(wal.save(null, makeEntries(4, 4, 1))).rejects.toThrow(/terms never decrease/);
    await wal.save({ term: 3, vote: '', commit: 2 }, []);
    await expect(wal.save({ term: 2, vote: '', commit: 2 }, [])).rejects.toThrow(/term never decreases/);
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(recovery.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await w2.close();
  });
});

describe('Wal overwrite of conflicting entries', () => {
  it('a rewritten suffix replaces the old one, and survives reopen', async () => {
    const { wal } = await reopen();
    await wal.save({ term: 1, vote: 'a', commit: 3 }, makeEntries(1, 10, 1));
    // A new leader in term 2 truncated this follower's log after index 5.
    await wal.save({ term: 2, vote: 'b', commit: 5 }, makeEntries(6, 8, 2));
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(plain(recovery.entries)).toEqual(plain([...makeEntries(1, 5, 1), ...makeEntries(6, 8, 2)]));
    await w2.close();
  });

  it('a rewrite in a later segment truncates entries held by an earlier one', async () => {
    const { wal } = await reopen();
    await wal.save(null, makeEntries(1, 30, 1, 200));
    await wal.save(null, makeEntries(31, 60, 1, 200));
    expect(wal.segmentFiles.length).toBeGreaterThan(1);
    await wal.save(null, makeEntries(3, 4, 2, 200));
    await wal.save(null, makeEntries(5, 40, 2, 200)); // rolls again
    await wal.save(null, makeEntries(20, 21, 3, 200));
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    const expected = [...makeEntries(1, 2, 1, 200), ...makeEntries(3, 19, 2, 200), ...makeEntries(20, 21, 3, 200)];
    expect(plain(recovery.entries)).toEqual(plain(expected));
    await w2.close();
  });
});

describe('Wal snapshot markers and release', () => {
  it('a compacting marker drops the covered entries from recovery and lets old segments go', async () => {
    const { wal } = await reopen();
    for (let i = 0; i < 20; i++)
      await wal.save({ term: 1, vote: 'a', commit: i * 10 + 10 }, makeEntries(i * 10 + 1, i * 10 + 10, 1, 100));
    const before = wal.segmentFiles.length;
    await wal.saveSnapshot({ index: 150, term: 1 }, 'compact');
    const released = await wal.releaseTo(150);
    expect(released).toBeGreaterThan(0);
    expect(wal.segmentFiles.length).toBe(before - released);
    await wal.close();
    expect((await readdir(dir)).length).toBe(before - released);

    const { wal: w2, recovery } = await reopen();
    expect(recovery.snapshotMarker).toEqual({ index: 150, term: 1 });
    expect(recovery.hardState).toEqual({ term: 1, vote: 'a', commit: 200 });
    expect(plain(recovery.entries)).toEqual(plain(makeEntries(151, 200, 1, 100)));
    // Entries below the marker that are still on disk stay reachable for an older snapshot.
    expect(recovery.log.termAt(recovery.log.prevIndex + 1)).toBe(1);
    await w2.close();
  });

  it('a restoring marker replaces the log, and entries continue after it', async () => {
    const { wal } = await reopen();
    await wal.save({ term: 1, vote: 'a', commit: 2 }, makeEntries(1, 5, 1));
    await wal.saveSnapshot({ index: 1000, term: 4 }, 'restore', { term: 4, vote: '', commit: 1000 });
    await wal.save(null, makeEntries(1001, 1003, 4));
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(recovery.snapshotMarker).toEqual({ index: 1000, term: 4 });
    expect(recovery.hardState).toEqual({ term: 4, vote: '', commit: 1000 });
    expect(plain(recovery.entries)).toEqual(plain(makeEntries(1001, 1003, 4)));
    await w2.close();
  });

  it('keeps hard state and marker when every segment that wrote them is released', async () => {
    const { wal } = await reopen();
    await wal.save({ term: 7, vote: 'v', commit: 1 }, makeEntries(1, 10, 7, 100));
    await wal.saveSnapshot({ index: 10, term: 7 }, 'compact');
    for (let i = 1; i < 15; i++) await wal.save(null, makeEntries(i * 10 + 1, i * 10 + 10, 7, 100));
    await wal.saveSnapshot({ index: 120, term: 7 }, 'compact');
    await wal.releaseTo(120);
    expect(wal.segmentFiles[0]).not.toBe('0000000000000001-0000000000000001.wal');
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(recovery.hardState).toEqual({ term: 7, vote: 'v', commit: 1 });
    expect(recovery.snapshotMarker).toEqual({ index: 120, term: 7 });
    expect(recovery.entries[0]?.index).toBe(121);
    expect(recovery.entries.at(-1)?.index).toBe(150);
    await w2.close();
  });

  it('recovers entries rewritten below the first remaining segment after a release', async () => {
    const { wal } = await reopen();
    await wal.save(null, makeEntries(1, 30, 1, 200)); // fills segment 1
    await wal.save(null, makeEntries(31, 31, 1, 200)); // goes to segment 2, which starts at 31
    await wal.save(null, makeEntries(25, 33, 2, 200)); // rewrites 25..31 in a later segment
    expect(wal.segmentFiles).toEqual([
      '0000000000000001-0000000000000001.wal',
      '0000000000000002-000000000000001f.wal',
    ]);
    await wal.saveSnapshot({ index: 30, term: 2 }, 'compact');
    expect(await wal.releaseTo(30)).toBeGreaterThan(0);
    await wal.close();
    const { wal: w2, recovery } = await reopen();
    expect(plain(recovery.entries)).toEqual(plain(makeEntries(31, 33, 2, 200)));
    await w2.close();
  });
});
