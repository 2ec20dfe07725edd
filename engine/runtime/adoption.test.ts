import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/poll.js';
import type { ImageForRuntime } from '../image-contract.js';
import { ContainerRuntime } from './runtime.js';
import { makeBusyboxImage } from './testing/busybox-rootfs.js';
import { makeTempDir, randomPrefix, removePrefixCgroups, removeTree } from '../testing/scratch.js';
import { mountRootfs, unmountTree } from './rootfs.js';
import { isMounted } from '../netns/mount-table.js';

const prefixA = randomPrefix();
const prefixB = randomPrefix();
let dir: string;
let image: ImageForRuntime;
const opened: ContainerRuntime[] = [];

async function open(prefix = prefixA, root = join(dir, 'engine')): Promise<ContainerRuntime> {
  const rt = await ContainerRuntime.open({ root, namePrefix: prefix, log: silentLogger() });
  opened.push(rt);
  return rt;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  dir = await makeTempDir('adopt');
  image = await makeBusyboxImage(join(dir, 'image'));
});

afterAll(async () => {
  for (const [prefix, root] of [
    [prefixA, join(dir, 'engine')],
    [prefixB, join(dir, 'engine-b')],
  ] as const) {
    const rt = await ContainerRuntime.open({ root, namePrefix: prefix, log: silentLogger() }).catch(() => undefined);
    for (const c of rt?.list({ all: true }) ?? []) await rt!.remove(c.id, { force: true }).catch(() => undefined);
    rt?.close();
    await removePrefixCgroups(prefix);
  }
  for (const rt of opened) rt.close();
  if (dir) {
    await unmountTree(dir);
    await removeTree(dir);
  }
});

describe('a restarted daemon adopts its containers', () => {
  it('finds a running container, stops it and gets its exit code', async () => {
    const first = await open();
    const id = await first.create({ config: { spec: { command: ['sh', '-c', 'sleep 60'], init: true } }, image });
    await first.start(id);
    first.close();
    const second = await open();
    expect(second.list().map((c) => c.id)).toEqual([id]);
    await second.stop(id, 5_000);
    expect(await second.wait(id)).toMatchObject({ exitCode: 143 });
    second.close();
    const third = await open();
    expect(third.inspect(id).container.state).toMatchObject({ status: 'exited', exitCode: 143 });
    await third.remove(id);
    third.close();
  });

  it('records the exit code of a container that ended while no runtime was open', async () => {
    const first = await open();
    const id = await first.create({ config: { spec: { command: ['sh', '-c', 'sleep 0.3; exit 3'] } }, image });
    await first.start(id);
    const runtimeName = `${prefixA}-${id}`;
    first.close();
    await waitFor(() => exists(join(dir, 'engine', 'exits', runtimeName)), {
      what: 'the exit file',
      timeoutMs: 10_000,
    });
    const second = await open();
    expect(second.inspect(id).container.state).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(await isMounted(second.inspect(id).rootfs)).toBe(false);
    await second.remove(id);
    second.close();
  });

  it('cleans up what a crash left: a container without a record and a half-made directory', async () => {
    const first = await open();
    const id = await first.create({ config: { spec: { command: ['sleep', '60'] } }, image });
    await first.start(id);
    // A removed container's directory whose deletion a crash cut short (its record still inside).
    const removed = await first.create({ config: { spec: { command: ['true'] } }, image });
    first.close();
    const containerDir = join(dir, 'engine', 'containers', id);
    await rm(join(containerDir, 'container.json'));
    const halfMade = join(dir, 'engine', 'containers', 'halfmade');
    await mkdir(halfMade, { recursive: true });
    await mountRootfs(image.layerDirs, {
      upper: join(halfMade, 'upper'),
      work: join(halfMade, 'work'),
      target: join(halfMade, 'rootfs'),
    });
    const removedDir = join(dir, 'engine', 'containers', `.removed-${removed}`);
    await unmountTree(join(dir, 'engine', 'containers', removed, 'rootfs'));
    await rename(join(dir, 'engine', 'containers', removed), removedDir);
    const second = await open();
    expect(second.list({ all: true })).toEqual([]);
    expect(await exists(containerDir)).toBe(false);
    expect(await exists(halfMade)).toBe(false);
    expect(await exists(removedDir)).toBe(false);
    expect(await isMounted(join(halfMade, 'rootfs'))).toBe(false);
    second.close();
  });

  it('keeps a rename of a running container, and finds its processes in its cgroup, after a restart', async () => {
    const first = await open();
    const id = await first.create({
      config: { name: 'before', spec: { command: ['sh', '-c', 'sleep 61 & exec sleep 60'] } },
      image,
    });
    const other = await first.create({ config: { name: 'taken', spec: { command: ['true'] } }, image });
    await first.start(id);
    await first.rename('before', 'after');
    await expect(first.rename(id, 'taken')).rejects.toThrow(/"\/taken" is already in use by container/);
    await expect(first.rename(id, 'after')).rejects.toThrow(/same name/);
    expect(() => first.inspect('before')).toThrow(/no such container/);
    const pids = await waitFor(
      async () => {
        const found = await first.pids('after', 100);
        return found.length === 2 ? found : undefined;
      },
      { what: 'both sleeps in the cgroup', timeoutMs: 10_000 },
    );
    expect(pids).toContain(first.inspect(id).container.state!.pid);
    await expect(first.pids(other, 100)).rejects.toThrow(`Container ${other} is not running`);
    first.close();
    const second = await open();
    expect(second.inspect('after').container).toMatchObject({ id, name: 'after' });
    expect(second.inspect('after').config.name).toBe('after');
    expect(() => second.inspect('before')).toThrow(/no such container/);
    expect(await second.pids('after', 100)).toEqual(pids);
    await second.remove(id, { force: true });
    await second.remove(other);
    second.close();
  });

  it('keeps daemons with different prefixes apart', async () => {
    const a = await open(prefixA);
    const id = await a.create({ config: { spec: { command: ['sleep', '60'] } }, image });
    await a.start(id);
    const b = await open(prefixB, join(dir, 'engine-b'));
    expect(b.list({ all: true })).toEqual([]);
    expect(a.list().map((c) => c.id)).toEqual([id]);
    // b's sweep of orphans left a's running container alone.
    expect((await a.exec(id, ['echo', 'alive'], { timeoutMs: 10_000 })).stdout.toString()).toBe('alive\n');
    await a.remove(id, { force: true });
    a.close();
    b.close();
  });
});
