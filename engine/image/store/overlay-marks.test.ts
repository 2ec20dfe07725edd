import { mkdtemp, mkdir, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../lib/process/run.js';
import { makeWhiteout, markOpaque } from './overlay-marks.js';

/** Mounts `lowers` (topmost first) read-only with overlayfs, returns what `path` holds there. */
async function mergedListing(lowers: string[], mountpoint: string, path: string): Promise<string[]> {
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')}`, mountpoint]);
  try {
    return (await readdir(join(mountpoint, path))).sort();
  } finally {
    await run('umount', [mountpoint]);
  }
}

describe('overlay marks', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a whiteout hides a lower file and an opaque dir hides lower contents (tar fallback)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tswarm-marks-'));
    dirs.push(root);
    const lower = join(root, 'lower');
    const upper = join(root, 'upper');
    const mnt = join(root, 'mnt');
    await mkdir(join(lower, 'd'), { recursive: true });
    await mkdir(join(lower, 'o'), { recursive: true });
    await mkdir(join(upper, 'd'), { recursive: true });
    await mkdir(join(upper, 'o'), { recursive: true, mode: 0o711 });
    await mkdir(mnt);
    await writeFile(join(lower, 'd', 'gone'), 'x');
    await writeFile(join(lower, 'd', 'kept'), 'x');
    await writeFile(join(lower, 'o', 'hidden'), 'x');
    await writeFile(join(upper, 'o', 'new'), 'x');
    await makeWhiteout(join(upper, 'd', 'gone'));
    await markOpaque(join(upper, 'o'), { useTar: true });
    expect((await stat(join(upper, 'o'))).mode & 0o7777).toBe(0o711);
    expect(await mergedListing([upper, lower], mnt, 'd')).toEqual(['kept']);
    expect(await mergedListing([upper, lower], mnt, 'o')).toEqual(['new']);
  });
});
