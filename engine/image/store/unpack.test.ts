import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tarOf, digestOf, type TarFile } from '../testing/fake-registry.js';
import { unpackLayerFile } from './unpack.js';
import { run } from '../../../lib/process/run.js';

describe('unpackLayerFile', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const unpack = async (files: TarFile[]) => {
    const work = await mkdtemp(join(tmpdir(), 'tswarm-unpack-'));
    dirs.push(work);
    const blob = join(work, 'layer.tar');
    const tar = tarOf(files);
    await writeFile(blob, tar);
    const dest = join(work, 'root');
    await mkdir(dest);
    return { work, dest, tar, result: unpackLayerFile(blob, dest) };
  };

  it('returns the diff ID and keeps files, dirs, symlinks and hard links', async () => {
    const { dest, tar, result } = await unpack([
      { path: 'etc/', type: 'Directory', mode: 0o750 },
      { path: 'etc/a', content: 'a', mode: 0o640 },
      { path: 'etc/b', type: 'Link', linkpath: 'etc/a' },
      { path: 'etc/abs', type: 'SymbolicLink', linkpath: '/etc/a' },
      { path: './etc/a', content: 'replaced' },
    ]);
    expect((await result).diffId).toBe(digestOf(tar));
    expect((await lstat(join(dest, 'etc'))).mode & 0o777).toBe(0o750);
    expect(await readFile(join(dest, 'etc/a'), 'utf8')).toBe('replaced');
    expect(await readFile(join(dest, 'etc/b'), 'utf8')).toBe('a');
    expect(await readlink(join(dest, 'etc/abs'))).toBe('/etc/a');
  });

  it('keeps file capabilities and user xattrs from pax headers, binary values intact; leaves trusted.* out', async () => {
    // vfs_cap_data v2: effective, permitted CAP_NET_BIND_SERVICE (bit 10): what `setcap cap_net_bind_service+ep` writes.
    const capability = Buffer.alloc(20);
    capability.writeUInt32LE(0x02000001, 0);
    capability.writeUInt32LE(1 << 10, 4);
    const { dest, result } = await unpack([
      { path: 'bin/', type: 'Directory' },
      {
        path: 'bin/server',
        content: 'x',
        mode: 0o755,
        xattrs: { 'security.capability': capability, 'user.note': Buffer.from('kept\n') },
      },
      { path: 'bin/plain', content: 'y' },
      { path: 'bin/forged', content: 'z', xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } },
    ]);
    await result;
    const getfattr = async (name: string, file: string) => {
      const out = (await run('getfattr', ['-h', '-e', 'hex', '-n', name, join(dest, file)], { allowFailure: true }))
        .stdout;
      return /=(0x[0-9a-f]+)/.exec(out)?.[1] ?? '';
    };
    expect(await getfattr('security.capability', 'bin/server')).toBe(`0x${capability.toString('hex')}`);
    expect(await getfattr('user.note', 'bin/server')).toBe(`0x${Buffer.from('kept\n').toString('hex')}`);
    expect(await getfattr('user.note', 'bin/plain')).toBe('');
    expect(await getfattr('trusted.overlay.opaque', 'bin/forged')).toBe('');
    expect(await readFile(join(dest, 'bin/forged'), 'utf8')).toBe('z');
  });

  it('refuses paths that climb out of the layer', async () => {
    const { work, result } = await unpack([{ path: '../escaped', content: 'x' }]);
    await expect(result).rejects.toThrow(/escapes the layer root/);
    expect(await readdir(work)).not.toContain('escaped');
  });

  it('refuses to write through a symlink, absolute or relative', async () => {
    for (const target of ['/tmp', '..']) {
      const { work, result } = await unpack([
        { path: 'link', type: 'SymbolicLink', linkpath: target },
        { path: 'link/planted', content: 'x' },
      ]);
      await expect(result).rejects.toThrow(/"link" is a symlink, not a directory/);
      await expect(lstat(join(work, 'planted'))).rejects.toThrow();
      await expect(lstat('/tmp/planted')).rejects.toThrow();
    }
  });

  it('refuses hard links to anything outside the layer', async () => {
    const { result } = await unpack([{ path: 'passwd', type: 'Link', linkpath: '../../etc/passwd' }]);
    await expect(result).rejects.toThrow(/escapes the layer root/);
    const { result: r2 } = await unpack([{ path: 'passwd', type: 'Link', linkpath: 'etc/passwd' }]);
    await expect(r2).rejects.toThrow(/not a file earlier in this layer/);
  });

  it('turns whiteouts into 0/0 character devices', async () => {
    const { dest, result } = await unpack([
      { path: 'etc/.wh.gone', content: '' },
      { path: 'etc/kept', content: 'k' },
    ]);
    await result;
    const wh = await lstat(join(dest, 'etc/gone'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    await expect(lstat(join(dest, 'etc/.wh.gone'))).rejects.toThrow();
  });
});
