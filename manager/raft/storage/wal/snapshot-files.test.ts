import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../core/types.js';
import { SnapshotFiles, snapshotFileName } from './snapshot-files.js';
import { makeTempDir, recordingLogger, removeDir } from './testing/wal-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = join(await makeTempDir('snap'), 'snap');
});
afterEach(async () => {
  await removeDir(join(dir, '..'));
});

function snap(index: number, term: number, dataBytes = 1000): Snapshot {
  const data = Uint8Array.from({ length: dataBytes }, (_, i) => (i * index) & 0xff);
  return { metadata: { index, term, confState: { voters: ['m1', 'm2', 'm3'], learners: ['m4'] } }, data };
}

function plainSnap(s: Snapshot | null) {
  return s === null ? null : { metadata: s.metadata, data: [...s.data] };
}

describe('SnapshotFiles', () => {
  it('round-trips a snapshot, with its configuration, through an atomic write', async () => {
    const files = await SnapshotFiles.open(dir);
    const info = await files.save(snap(100, 3));
    expect(info.file).toBe(snapshotFileName(3, 100));
    expect(await readdir(dir)).toEqual([info.file]); // no temp file left behind
    expect(plainSnap(await (await SnapshotFiles.open(dir)).loadNewest())).toEqual(plainSnap(snap(100, 3)));
  });

  it('returns null when there is no snapshot, and handles empty data', async () => {
    const files = await SnapshotFiles.open(dir);
    expect(await files.loadNewest()).toBeNull();
    await files.save(snap(5, 1, 0));
    expect((await files.loadNewest())!.data.length).toBe(0);
  });

  it('keeps the newest two by default, deleting older ones', async () => {
    const files = await SnapshotFiles.open(dir);
    for (const index of [10, 20, 30, 40]) await files.save(snap(index, 1));
    expect((await files.list()).map((i) => i.index)).toEqual([40, 30]);
    const three = await SnapshotFiles.open(dir, { retainCount: 3 });
    await three.save(snap(50, 2));
    await three.save(snap(60, 2));
    expect((await three.list()).map((i) => i.index)).toEqual([60, 50, 40]);
  });

  it('removes a temp file left by a crash before the rename', async () => {
    const files = await SnapshotFiles.open(dir);
    await files.save(snap(10, 1));
    await writeFile(join(dir, `${snapshotFileName(1, 20)}.tmp`), 'half written');
    const reopened = await SnapshotFiles.open(dir);
    expect(await readdir(dir)).toEqual([snapshotFileName(1, 10)]);
    expect((await reopened.loadNewest())!.metadata.index).toBe(10);
  });

  it('falls back to the previous snapshot, with a warning, when the newest is corrupt', async () => {
    const logger = recordingLogger();
    const files = await SnapshotFiles.open(dir, { logger });
    await files.save(snap(10, 1));
    await files.save(snap(20, 1));
    const newest = join(dir, snapshotFileName(1, 20));
    const buf = await readFile(newest);
    buf[buf.length - 500]! ^= 0x04;
    await writeFile(newest, buf);
    const loaded = await files.loadNewest();
    expect(loaded!.metadata.index).toBe(10);
    expect(logger.records.filter((r) => r.level === 'warn').length).toBeGreaterThan(0);
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName(1, 10), `${snapshotFileName(1, 20)}.broken`]);
  });

  it('detects a truncated file and a file whose name disagrees with its content', async () => {
    const files = await SnapshotFiles.open(dir);
    await files.save(snap(10, 1));
    await files.save(snap(20, 1));
    const newest = join(dir, snapshotFileName(1, 20));
    await writeFile(newest, (await readFile(newest)).subarray(0, 100));
    expect((await files.loadNewest())!.metadata.index).toBe(10);
    await writeFile(join(dir, snapshotFileName(1, 30)), await readFile(join(dir, snapshotFileName(1, 10))));
    expect((await files.loadNewest())!.metadata.index).toBe(10);
  });

  it('refuses with SNAPSHOT_CORRUPT when no snapshot is valid', async () => {
    const files = await SnapshotFiles.open(dir);
    await files.save(snap(10, 1));
    await files.save(snap(20, 1));
    for (const f of await readdir(dir)) {
      const buf = await readFile(join(dir, f));
      buf[20]! ^= 0xff;
      await writeFile(join(dir, f), buf);
    }
    await expect(files.loadNewest()).rejects.toMatchObject({
      code: 'SNAPSHOT_CORRUPT',
      message: expect.stringMatching(/peer/),
    });
  });

  it('skips files the caller does not accept', async () => {
    const files = await SnapshotFiles.open(dir, { retainCount: 3 });
    for (const index of [10, 20, 30]) await files.save(snap(index, 1));
    expect((await files.loadNewest((i) => i.index <= 20))!.metadata.index).toBe(20);
    expect(await files.loadNewest(() => false)).toBeNull();
  });
});
