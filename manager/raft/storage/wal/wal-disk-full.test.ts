import { execFileSync } from 'node:child_process';
import { rmdir, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry, HardState } from '../../core/types.js';
import { WalError } from './errors.js';
import { asTswarmError } from '../../../../lib/errors.js';
import { makeEntries, makeTempDir, plain } from './testing/wal-fixtures.js';
import { Wal } from './wal.js';

const TMPFS_BYTES = 1024 * 1024;
const BALLAST_BYTES = 128 * 1024;
const BATCH_ENTRIES = 10;
const ENTRY_DATA_BYTES = 2000;
/** 1 MiB / ~20 KiB per batch: the disk is full long before this. */
const BATCHES_MAX = 200;

/** Mounts a 1 MiB tmpfs, so filling it can never touch the machine's real disk. */
function tryMountTmpfs(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
  }
}

describe('Wal on a full disk', () => {
  it('rejects the save with DISK_FULL and recovers the last acknowledged state', async (ctx) => {
    const mnt = await makeTempDir('walfull');
    const mountError = tryMountTmpfs(mnt);
    if (mountError !== null) {
      await rmdir(mnt);
      ctx.skip(`cannot mount a size-limited tmpfs to fill safely (${mountError})`);
      return;
    }
    try {
      const fs = await statfs(mnt);
      expect(fs.blocks * fs.bsize).toBeLessThanOrEqual(2 * TMPFS_BYTES); // really the small tmpfs
      const ballast = join(mnt, 'ballast');
      await writeFile(ballast, Buffer.alloc(BALLAST_BYTES, 1));
      const dir = join(mnt, 'wal');
      const { wal } = await Wal.open(dir, { segmentBytesLimit: 256 * 1024 });

      const acked: Entry[] = [];
      let ackedHs: HardState = { term: 0, vote: '', commit: 0 };
      let failure: unknown = null;
      for (let i = 0; i < BATCHES_MAX && failure === null; i++) {
        const entries = makeEntries(i * BATCH_ENTRIES + 1, (i + 1) * BATCH_ENTRIES, 3, ENTRY_DATA_BYTES);
        const hs = { term: 3, vote: 'n1', commit: i * BATCH_ENTRIES };
        await wal.save(hs, entries).then(
          () => {
            acked.push(...entries);
            ackedHs = hs;
          },
          (err: unknown) => {
            failure = err;
          },
        );
      }
      expect(failure).toBeInstanceOf(WalError);
      expect((failure as WalError).code).toBe('DISK_FULL');
      expect(asTswarmError(failure).code).toBe('RESOURCE_EXHAUSTED');
      expect((failure as WalError).message).toMatch(/Free space/);
      expect(acked.length).toBeGreaterThan(0);
      // Still full: the next save is refused too, and nothing was half-acknowledged.
      const next = makeEntries(acked.length + 1, acked.length + BATCH_ENTRIES, 3, ENTRY_DATA_BYTES);
      await expect(wal.save({ ...ackedHs, commit: ackedHs.commit + 1 }, next)).rejects.toMatchObject({
        code: 'DISK_FULL',
      });
      await wal.close();

      // Restart on the same, still full, filesystem: exactly the acknowledged state.
      const full = await Wal.open(dir, { segmentBytesLimit: 256 * 1024 });
      expect(full.recovery.hardState).toEqual(ackedHs);
      expect(plain(full.recovery.entries)).toEqual(plain(acked));
      await full.wal.close();

      // Once space is freed, writing resumes where the acknowledged log ended.
      await unlink(ballast);
      const freed = await Wal.open(dir, { segmentBytesLimit: 256 * 1024 });
      await freed.wal.save({ ...ackedHs, commit: ackedHs.commit + 1 }, next);
      await freed.wal.close();
      const last = await Wal.open(dir, { segmentBytesLimit: 256 * 1024 });
      expect(plain(last.recovery.entries)).toEqual(plain([...acked, ...next]));
      expect(last.recovery.hardState.commit).toBe(ackedHs.commit + 1);
      await last.wal.close();
    } finally {
      execFileSync('umount', [mnt]);
      await rmdir(mnt);
    }
  });
});
