import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../lib/process/run.js';
import { buildBusyboxImage } from './busybox-image.js';
import { upperLayerTar } from './commit/upper-layer.js';
import { ImageService } from './images.js';
import type { PushProgress } from './registry/push.js';
import { makeWhiteout, markOpaque } from './store/overlay-marks.js';
import { pushTestImage } from './testing/test-images.js';
import { startTestRegistry, type TestRegistry } from './testing/test-registry.js';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Entry paths and types of a tar, in order. */
async function tarEntries(tar: Buffer): Promise<string[]> {
  const out: string[] = [];
  const parser = new Parser({ onReadEntry: (e) => (out.push(`${e.type} ${e.path}`), e.resume()) });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(tar);
  });
  return out;
}

/**
 * An overlay upper dir as a container leaves it (as root: whiteouts are 0/0 devices, opaque dirs
 * carry trusted.overlay.opaque): a new file, a deleted base file, a directory replaced whole.
 */
async function makeUpperDir(dir: string): Promise<void> {
  await mkdir(join(dir, 'etc'), { recursive: true });
  await mkdir(join(dir, 'opq'), { recursive: true });
  await writeFile(join(dir, 'hello.txt'), 'committed\n');
  await makeWhiteout(join(dir, 'etc', 'kept.txt'));
  await markOpaque(join(dir, 'opq'));
  await writeFile(join(dir, 'opq', 'only.txt'), 'only\n');
  await writeFile(join(dir, 'etc', 'hosts'), ''); // the engine's bind-mount stub: not the container's change
}

describe('image lifecycle: commit, push, save, history against a real registry', () => {
  let registry: TestRegistry;
  let work: string;
  const services: ImageService[] = [];

  const service = async () => {
    const root = await mkdtemp(join(work, 'node-'));
    const s = new ImageService({
      root,
      credentialsPath: join(root, 'credentials.json'),
      insecureRegistries: [registry.host],
      registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
    });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tswarm-lifecycle-'));
    registry = await startTestRegistry();
    const layout = join(work, 'layout');
    await buildBusyboxImage(layout, 'bb');
    await pushTestImage(layout, 'bb', registry.host, 'busybox', '1');
  }, 120_000);

  afterAll(async () => {
    for (const s of services) await s.close();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes an upper dir as an OCI layer: whiteouts as .wh.NAME, opaque dirs with .wh..wh..opq, engine stubs left out', async () => {
    const upper = await mkdtemp(join(work, 'upper-'));
    await makeUpperDir(upper);
    const entries = await tarEntries(await collect(upperLayerTar(upper)));
    expect(entries).toEqual([
      'Directory etc/',
      'File etc/.wh.kept.txt',
      'File hello.txt',
      'Directory opq/',
      'File opq/.wh..wh..opq',
      'File opq/only.txt',
    ]);
    // The same changes give the same bytes.
    expect(await collect(upperLayerTar(upper))).toEqual(await collect(upperLayerTar(upper)));
  });

  it('commits, pushes (mounting the base layers), pulls elsewhere, shows history, saves and loads back', async () => {
    const a = await service();
    const base = await a.pull(`${registry.host}/test/busybox:1`);
    const upper = await mkdtemp(join(work, 'upper-'));
    await makeUpperDir(upper);

    const bad = await a
      .commit({
        baseImageId: base.id,
        upperDir: upper,
        container: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '' },
        changes: ['RUN echo no'],
        createdBy: 'sh',
        comment: '',
        author: '',
        reference: `${registry.host}/test/bad:1`,
      })
      .catch((e: unknown) => e);
    expect(String(bad)).toMatch(/RUN is not an instruction commit takes \(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL/);
    expect((await a.list()).map((i) => i.id)).toEqual([base.id]); // nothing half-made

    const ref = `${registry.host}/test/committed:1`;
    const committed = await a.commit({
      baseImageId: base.id,
      upperDir: upper,
      container: { entrypoint: [], cmd: ['sleep', '100'], env: ['B=2'], workingDir: '', user: '' },
      changes: ['CMD ["cat", "/hello.txt"]', 'ENV A=1', 'LABEL team="the lab"', 'EXPOSE 8080', 'WORKDIR /opq'],
      createdBy: 'sleep 100',
      comment: 'add hello',
      author: 'tester',
      reference: ref,
    });
    expect(committed.repoTags).toEqual([ref]);
    const inspected = await a.inspect(ref);
    const config = JSON.parse(inspected.configJson.toString('utf8')) as {
      config: Record<string, unknown>;
      rootfs: { diff_ids: string[] };
      history: { comment?: string; created_by?: string; author?: string }[];
      author: string;
    };
    expect(config.config['Cmd']).toEqual(['cat', '/hello.txt']);
    expect(config.config['Env']).toEqual(['PATH=/bin', 'B=2', 'A=1']);
    expect(config.config['Labels']).toEqual({ team: 'the lab' });
    expect(config.config['ExposedPorts']).toEqual({ '8080/tcp': {} });
    expect(config.config['WorkingDir']).toBe('/opq');
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.history.at(-1)).toMatchObject({ comment: 'add hello', created_by: 'sleep 100', author: 'tester' });
    expect(config.author).toBe('tester');

    // The committed layer runs here at once: stacked under overlayfs, the deletions hold.
    const rt = await a.forRuntime(ref);
    const merged = join(work, 'merged');
    await mkdir(merged, { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...rt.layerDirs].reverse().join(':')}`, merged]);
    try {
      expect(await readFile(join(merged, 'hello.txt'), 'utf8')).toBe('committed\n');
      expect(await readdir(join(merged, 'etc'))).toEqual(['gone.txt']);
      expect(await readdir(join(merged, 'opq'))).toEqual(['only.txt']);
    } finally {
      await run('umount', [merged]);
    }

    const events: PushProgress[] = [];
    const pushed = await a.push(ref, { onProgress: (p) => events.push(p) });
    expect(pushed.tag).toBe('1');
    const final = new Map(events.map((e) => [e.digest, e.status]));
    expect([...final.values()].sort()).toEqual(['Mounted from test/busybox', 'Pushed']);
    // Pushed again: every layer is there already.
    const again: PushProgress[] = [];
    expect((await a.push(ref, { onProgress: (p) => again.push(p) })).digest).toBe(pushed.digest);
    expect(again.filter((e) => e.status === 'Layer already exists')).toHaveLength(2);

    const b = await service();
    const pulled = await b.pull(ref);
    expect(pulled.id).toBe(committed.id);
    expect(pulled.repoDigests).toEqual([`${registry.host}/test/committed@${pushed.digest}`]);
    const top = (await b.forRuntime(ref)).layerDirs.at(-1) ?? '';
    const whiteout = await lstat(join(top, 'etc', 'kept.txt'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);

    const history = await b.history(ref);
    expect(history).toHaveLength(config.history.length);
    expect(history[0]).toMatchObject({ Id: committed.id, Tags: [ref], Comment: 'add hello', CreatedBy: 'sleep 100' });
    expect(history[0]!.Size).toBeGreaterThan(0);
    expect(history.slice(1).every((h) => h.Id === '<missing>')).toBe(true);

    // save of two images, rm, load: both back under the same IDs and tags.
    const archive = await collect(await a.save([ref, `${registry.host}/test/busybox:1`]));
    // Docker 25+'s layout: an OCI layout that also carries the legacy manifest.json and repositories.
    expect((await tarEntries(archive)).filter((e) => !e.includes('blobs/'))).toEqual([
      'File oci-layout',
      'File index.json',
      'File manifest.json',
      'File repositories',
    ]);
    await a.remove(ref);
    await a.remove(`${registry.host}/test/busybox:1`);
    expect(await a.list()).toEqual([]);
    const loaded = await a.load(
      (async function* () {
        yield archive;
      })(),
    );
    expect(loaded.map((i) => i.id).sort()).toEqual([committed.id, base.id].sort());
    expect((await a.list()).flatMap((i) => i.repoTags).sort()).toEqual([ref, `${registry.host}/test/busybox:1`].sort());
  }, 120_000);
});
