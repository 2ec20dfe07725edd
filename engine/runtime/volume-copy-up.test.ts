import { afterEach, describe, expect, it } from 'vitest';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { copyImageContentIntoVolumes } from './volume-copy-up.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup() {
  const base = await mkdtemp(join(tmpdir(), 'tswarm-copyup-'));
  dirs.push(base);
  const rootfs = join(base, 'rootfs');
  await mkdir(join(rootfs, 'data', 'sub'), { recursive: true });
  await writeFile(join(rootfs, 'data', 'sub', 'conf'), 'from the image\n');
  await chmod(join(rootfs, 'data', 'sub', 'conf'), 0o640);
  const volume = async (name: string) => {
    const path = join(base, 'volumes', name);
    await mkdir(path, { recursive: true });
    return path;
  };
  return { base, rootfs, volume };
}

describe('copy-up of image content into a new volume (as Docker does)', () => {
  it('copies into an empty volume, modes kept; a volume with data is left as it is', async () => {
    const { rootfs, volume } = await setup();
    const empty = await volume('empty');
    const used = await volume('used');
    await writeFile(join(used, 'mine'), 'keep\n');
    await copyImageContentIntoVolumes(
      rootfs,
      [
        { target: '/data', hostPath: empty },
        { target: '/data/', hostPath: used },
      ],
      silentLogger(),
    );
    expect(await readFile(join(empty, 'sub', 'conf'), 'utf8')).toBe('from the image\n');
    expect((await stat(join(empty, 'sub', 'conf'))).mode & 0o777).toBe(0o640);
    expect(await readdir(used)).toEqual(['mine']);
  });

  it('gives the volume the owner and mode of an empty image directory (an image USER may own it)', async () => {
    const { rootfs, volume } = await setup();
    await mkdir(join(rootfs, 'owned'));
    await chown(join(rootfs, 'owned'), 1000, 1000);
    await chmod(join(rootfs, 'owned'), 0o700);
    const v = await volume('owned');
    await copyImageContentIntoVolumes(rootfs, [{ target: '/owned', hostPath: v }], silentLogger());
    const info = await stat(v);
    expect([info.uid, info.gid, info.mode & 0o777]).toEqual([1000, 1000, 0o700]);
  });

  it('leaves a path through a symlink or out of the rootfs alone: resolved on the host it could leave the rootfs', async () => {
    const { base, rootfs, volume } = await setup();
    const outside = join(base, 'host-secrets');
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'host only\n');
    await symlink(outside, join(rootfs, 'link'));
    const v = await volume('v');
    // /../host-secrets joined to the rootfs would name a real directory beside it.
    await copyImageContentIntoVolumes(
      rootfs,
      [
        { target: '/link', hostPath: v },
        { target: '/absent', hostPath: v },
        { target: '/../host-secrets', hostPath: v },
      ],
      silentLogger(),
    );
    expect(await readdir(v)).toEqual([]);
  });
});
