import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import { LocalVolumeDriver } from './local-driver.js';
import { resolveMounts } from './mounts.js';

let root: string;
let users: Record<string, string[]>;
let store: LocalVolumeDriver;

const open = () =>
  LocalVolumeDriver.open({ engineRoot: root, usedBy: (name) => users[name] ?? [], clock: new ManualClock(1_000) });
const mount = (m: Partial<Mount>): Mount => ({
  type: MountType.MOUNT_TYPE_VOLUME,
  source: '',
  target: '/data',
  readOnly: false,
  tmpfsSizeBytes: 0,
  tmpfsMode: 0,
  volumeLabels: {},
  volumeNoCopy: false,
  ...m,
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tswarm-volume-'));
  users = {};
  store = await open();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('LocalVolumeDriver', () => {
  it('creates idempotently with the same labels, and refuses other labels', async () => {
    const v = await store.create('data', { team: 'a' });
    expect(v).toEqual({
      name: 'data',
      driver: 'local',
      mountpoint: join(root, 'volumes', 'data', '_data'),
      labels: { team: 'a' },
      createdAtMs: expect.any(Number),
      usedBy: [],
    });
    expect((await stat(v.mountpoint)).isDirectory()).toBe(true);
    expect(await store.create('data', { team: 'a' })).toEqual(v);
    await expect(store.create('data', { team: 'b' })).rejects.toThrow(/already exists with other labels/);
  });

  it('validates names', async () => {
    await expect(store.create('-bad')).rejects.toThrow(/invalid volume name "-bad"/);
    await expect(store.create('a'.repeat(65))).rejects.toThrow(/invalid volume name/);
    await expect(store.inspect('../etc')).rejects.toThrow(/invalid volume name/);
    await store.create('ok_1.2-3');
  });

  it('lists and inspects, and keeps metadata across reopen', async () => {
    await store.create('b');
    await store.create('a', { x: '1' });
    users.a = ['c1'];
    const reopened = await open();
    expect((await reopened.list()).map((v) => [v.name, v.usedBy])).toEqual([
      ['a', ['c1']],
      ['b', []],
    ]);
    expect((await reopened.inspect('a')).labels).toEqual({ x: '1' });
    await expect(reopened.inspect('zzz')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to remove a volume in use unless forced', async () => {
    await store.create('busy');
    users.busy = ['0123456789abcdef'];
    await expect(store.remove('busy')).rejects.toThrow(/in use by container\(s\) 0123456789ab/);
    await store.remove('busy', { force: true });
    expect(await store.list()).toEqual([]);
    await expect(store.remove('busy')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await store.remove('busy', { force: true });
    expect(await readdir(join(root, 'volumes'))).toEqual([]);
  });

  it('prunes the unused ones and says what it reclaimed', async () => {
    const unused = await store.create('unused');
    await writeFile(join(unused.mountpoint, 'f'), 'x'.repeat(1000));
    await store.create('used');
    users.used = ['c1'];
    expect(await store.prune()).toEqual({ deleted: ['unused'], reclaimedBytes: 1000 });
    expect((await store.list()).map((v) => v.name)).toEqual(['used']);
  });

  it('finishes a removal a crash cut short', async () => {
    await mkdir(join(root, 'volumes', '.removing-x-1234', '_data'), { recursive: true });
    await open();
    expect(await readdir(join(root, 'volumes'))).toEqual([]);
  });
});

describe('resolveMounts', () => {
  it('creates a volume on first use and returns its _data path', async () => {
    const r = await resolveMounts(
      [
        mount({ source: 'cache', volumeLabels: { l: 'v' } }),
        mount({ type: MountType.MOUNT_TYPE_TMPFS, target: '/tmp', tmpfsSizeBytes: 1024 }),
      ],
      store,
    );
    const path = join(root, 'volumes', 'cache', '_data');
    expect(r.volumePaths).toEqual({ cache: path });
    expect(r.mounts[0]).toMatchObject({ type: 'bind', source: path, target: '/data' });
    expect(r.mounts[1]).toMatchObject({ type: 'tmpfs', source: '', target: '/tmp', tmpfsSizeBytes: 1024 });
    expect((await store.inspect('cache')).labels).toEqual({ l: 'v' });
  });

  it('checks bind sources and targets, naming the path', async () => {
    const missing = join(root, 'nope');
    await expect(
      resolveMounts([mount({ type: MountType.MOUNT_TYPE_BIND, source: missing })], store),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(missing) });
    await expect(resolveMounts([mount({ type: MountType.MOUNT_TYPE_BIND, source: 'rel' })], store)).rejects.toThrow(
      /not an absolute path/,
    );
    await expect(resolveMounts([mount({ source: 'v', target: 'data' })], store)).rejects.toThrow(/mount target "data"/);
    await expect(resolveMounts([mount({ source: '' })], store)).rejects.toThrow(/no volume name/);
    const r = await resolveMounts([mount({ type: MountType.MOUNT_TYPE_BIND, source: root, readOnly: true })], store);
    expect(r.mounts[0]).toMatchObject({ type: 'bind', source: root, readOnly: true });
  });
});
