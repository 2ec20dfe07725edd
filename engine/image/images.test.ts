import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerProgress } from '../../gen/tswarm/v1/engine.js';
import { run } from '../../lib/process/run.js';
import { isRetryableImageError } from './errors.js';
import { ImageService } from './images.js';
import { hostPlatform } from './platform.js';
import { buildBusyboxImage } from './busybox-image.js';
import { addPlatformIndex, makeArchive, pushTestImage } from './testing/test-images.js';
import { startCountingProxy, type FakeServer } from './testing/fake-registry.js';
import { freePort, startTestRegistry, type TestRegistry } from './testing/test-registry.js';

/** Real parts: Debian's registry on loopback, images built with umoci and pushed with skopeo. */
describe('ImageService against a real registry', () => {
  let registry: TestRegistry;
  let proxy: FakeServer;
  let work: string;
  let layout: string;
  let digest: string;
  let configIds: Record<string, string>;
  const services: ImageService[] = [];

  const service = async (extra: Partial<ConstructorParameters<typeof ImageService>[0]> = {}) => {
    const root = await mkdtemp(join(work, 'node-'));
    const s = new ImageService({
      root,
      credentialsPath: join(root, 'credentials.json'),
      insecureRegistries: [registry.host, proxy.host],
      registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
      ...extra,
    });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tswarm-images-'));
    layout = join(work, 'layout');
    registry = await startTestRegistry();
    proxy = await startCountingProxy(registry.host);
    await buildBusyboxImage(layout, 'bb', { withChangesLayer: true });
    digest = await pushTestImage(layout, 'bb', registry.host, 'busybox', '1');
    configIds = await addPlatformIndex(layout, 'bb', ['amd64', 'arm64'], 'multi');
    await pushTestImage(layout, 'multi', registry.host, 'multi', '1', { all: true });
  }, 120_000);

  afterAll(async () => {
    for (const s of services) await s.close();
    await proxy?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls by tag, reports progress and unpacks layers that stack as overlayfs lowerdirs', async () => {
    const s = await service();
    const events: LayerProgress[] = [];
    const image = await s.pull(`${registry.host}/test/busybox:1`, { onProgress: (p) => events.push(p) });
    expect(image.repoTags).toEqual([`${registry.host}/test/busybox:1`]);
    expect(image.repoDigests).toEqual([`${registry.host}/test/busybox@${digest}`]);
    expect(new Set(events.map((e) => e.status))).toEqual(
      new Set(['waiting', 'downloading', 'verifying', 'extracting', 'done']),
    );
    const resolved: string[] = [];
    const rt = await s.forRuntime(`${registry.host}/test/busybox:1`, (id) => resolved.push(id));
    expect(resolved).toEqual([image.id]); // heard before the files are read: the caller's hold
    expect(rt.reference).toBe(`${registry.host}/test/busybox:1`);
    expect(rt.config.Cmd).toEqual(['sh']);
    expect(rt.layerDirs).toHaveLength(2);
    const top = rt.layerDirs[1] ?? '';
    const gone = await lstat(join(top, 'etc/gone.txt'));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    const suid = await stat(join(top, 'misc/setuid'));
    expect([suid.mode & 0o7777, suid.uid, suid.gid]).toEqual([0o4755, 1000, 1001]);
    expect((await stat(join(top, 'misc/hardlink'))).ino).toBe(suid.ino);
    expect((await lstat(join(top, 'misc/abs-link'))).isSymbolicLink()).toBe(true);
    const dev = await lstat(join(top, 'misc/null'));
    expect([dev.isCharacterDevice(), dev.rdev]).toEqual([true, 0x103]);
    const merged = join(work, 'merged');
    await mkdir(merged, { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...rt.layerDirs].reverse().join(':')}`, merged]);
    try {
      expect((await readdir(join(merged, 'etc'))).sort()).toEqual(['kept.txt']);
      expect(await readdir(join(merged, 'opq'))).toEqual(['new.txt']);
      expect((await lstat(join(merged, 'bin/sh'))).isSymbolicLink()).toBe(true);
    } finally {
      await run('umount', [merged]);
    }
  });

  it('pulls by digest, and a second pull fetches no blob', async () => {
    const s = await service();
    const ref = `${proxy.host}/test/busybox@${digest}`;
    const first = await s.pull(ref);
    expect(first.repoDigests).toEqual([ref]);
    const blobsFetched = () => proxy.requests.filter((r) => r.path.includes('/blobs/')).length;
    const before = blobsFetched();
    expect(before).toBeGreaterThan(0);
    const events: LayerProgress[] = [];
    await s.pull(`${proxy.host}/test/busybox:1`, { onProgress: (p) => events.push(p) });
    expect(blobsFetched()).toBe(before);
    expect(events.filter((e) => e.status === 'already exists')).toHaveLength(2);
  });

  it('picks the platform from a manifest list', async () => {
    const s = await service();
    const amd = await s.pull(`${registry.host}/test/multi:1`, { platform: { os: 'linux', architecture: 'amd64' } });
    expect(amd.id).toBe(configIds['amd64']);
    const arm = await s.pull(`${registry.host}/test/multi:1`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(arm.id).toBe(configIds['arm64']);
    const err = await s
      .pull(`${registry.host}/test/multi:1`, { platform: { os: 'linux', architecture: 's390x' } })
      .catch((e: unknown) => e);
    expect(String(err)).toMatch(/no variant for platform linux\/s390x/);
    expect(isRetryableImageError(err)).toBe(false);
  });

  it("tells what a tag names now without pulling it (Docker's /distribution): digest, media type, platforms", async () => {
    const s = await service();
    const single = await s.distribution(`${registry.host}/test/busybox:1`);
    expect(single.descriptor).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest });
    expect(single.descriptor.size).toBeGreaterThan(0);
    // From the image's config (umoci builds for this machine).
    expect(single.platforms).toEqual([{ os: 'linux', architecture: hostPlatform().architecture }]);
    const multi = await s.distribution(`${registry.host}/test/multi:1`);
    expect(multi.descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(multi.platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    expect((await s.distribution(`${registry.host}/test/busybox:1@${digest}`)).descriptor.digest).toBe(digest);
    await expect(s.distribution(`${registry.host}/test/busybox:2`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/MANIFEST_UNKNOWN: manifest unknown/),
    });
    expect(await s.list()).toEqual([]); // nothing pulled
  });

  it('pulls a pinned NAME:TAG@DIGEST by its digest, without tagging, and names containers by it', async () => {
    const s = await service();
    const pinned = `${registry.host}/test/busybox:1@${digest}`;
    const image = await s.pull(pinned);
    expect(image.repoTags).toEqual([]);
    expect(image.repoDigests).toEqual([`${registry.host}/test/busybox@${digest}`]);
    // What `docker ps` shows of a service's container (it prints NAME:TAG of it).
    expect((await s.forRuntime(pinned)).reference).toBe(pinned);
    expect((await s.forRuntime(image.id)).reference).toBe(image.id);
  });

  it('fails permanently, naming the image, when the reference does not exist', async () => {
    const s = await service();
    const err = await s.pull(`${registry.host}/test/nope:1`).catch((e: unknown) => e);
    expect(String(err)).toMatch(
      new RegExp(`image ${registry.host}/test/nope:1 not found.*MANIFEST_UNKNOWN|NAME_UNKNOWN`),
    );
    expect(isRetryableImageError(err)).toBe(false);
  });

  it('fails retryably when the registry is down', async () => {
    const s = await service();
    const port = await freePort();
    const err = await s.pull(`127.0.0.1:${port}/test/busybox:1`).catch((e: unknown) => e);
    expect(String(err)).toMatch(/unreachable.*ECONNREFUSED/);
    expect(isRetryableImageError(err)).toBe(true);
  });

  it('loads docker save and OCI archives, streamed', async () => {
    const s = await service();
    const dockerTar = join(work, 'bb-docker.tar');
    const ociTar = join(work, 'bb-oci.tar');
    await makeArchive(layout, 'bb', 'docker', dockerTar, 'example.com/test/saved:1');
    await makeArchive(layout, 'bb', 'oci', ociTar, 'example.com/test/oci:2');
    const [fromDocker] = await s.load(createReadStream(dockerTar));
    expect(fromDocker?.repoTags).toEqual(['example.com/test/saved:1']);
    const [fromOci] = await s.load(createReadStream(ociTar).pipe((await import('node:zlib')).createGzip()));
    // The same image (same config digest) now carries both names.
    expect(fromOci?.repoTags).toEqual(['example.com/test/oci:2', 'example.com/test/saved:1']);
    expect(fromOci?.id).toBe(fromDocker?.id);
    const rt = await s.forRuntime('example.com/test/saved:1');
    expect((await lstat(join(rt.layerDirs[1] ?? '', 'etc/gone.txt'))).isCharacterDevice()).toBe(true);
  });

  it('takes a name for a tag before an ID prefix, as Docker does: removing that tag only untags it', async () => {
    const s = await service();
    const archive = join(work, 'bb-tagged.tar');
    await makeArchive(layout, 'bb', 'docker', archive, 'example.com/test/kept:1');
    const [image] = await s.load(createReadStream(archive));
    // A repository named like the start of the image's ID.
    const hexName = image!.id.slice(7, 19);
    const named = join(work, 'bb-hexname.tar');
    await makeArchive(layout, 'bb', 'docker', named, `${hexName}:latest`);
    await s.load(createReadStream(named));
    // A short prefix that is no tag names the image by ID, as docker run 35ce does.
    expect((await s.forRuntime(image!.id.slice(7, 11))).id).toBe(image!.id);
    expect(await s.remove(hexName)).toEqual({ untagged: [`${hexName}:latest`], deleted: [] });
    expect((await s.list()).map((i) => i.repoTags)).toEqual([['example.com/test/kept:1']]);
  });

  it('tags an image by name or ID, moving a tag from another image; refuses a digest or an unknown source', async () => {
    const s = await service();
    const archive = join(work, 'bb-totag.tar');
    await makeArchive(layout, 'bb', 'docker', archive, 'example.com/test/src:1');
    const [image] = await s.load(createReadStream(archive));
    const tagged = await s.tag('example.com/test/src:1', 'reg.test:5000/lab/copy:2');
    expect(tagged.repoTags).toEqual(['example.com/test/src:1', 'reg.test:5000/lab/copy:2']);
    expect((await s.tag(image!.id, 'busybox')).repoTags).toContain('busybox:latest');
    expect((await s.inspect('busybox')).image?.id).toBe(image!.id);
    await expect(s.tag('example.com/test/nope:1', 'x:1')).rejects.toThrow(/no such image: example.com\/test\/nope:1/);
    await expect(s.tag(image!.id, `x@sha256:${'a'.repeat(64)}`)).rejects.toThrow(/cannot tag with a digest/);
  });

  it('refuses to remove an image in use unless forced, and garbage-collects what nothing uses', async () => {
    let used = true;
    const s = await service({ isInUse: () => used });
    const ref = `${registry.host}/test/busybox:1`;
    const image = await s.pull(ref);
    const root = (s as unknown as { options: { root: string } }).options.root;
    await expect(s.remove(ref)).rejects.toThrow(/used by a container/);
    const forced = await s.remove(ref, { force: true });
    expect(forced).toEqual({ untagged: [ref], deleted: [] });
    expect((await s.list()).map((i) => i.id)).toEqual([image.id]);
    expect((await s.prune({})).deleted).toEqual([]);
    used = false;
    const pruned = await s.prune({});
    expect(pruned.deleted).toEqual([image.id]);
    expect(pruned.reclaimedBytes).toBeGreaterThan(1_000_000);
    expect(await s.list()).toEqual([]);
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
    expect((await readdir(join(root, 'layers'))).filter((n) => !n.startsWith('.'))).toEqual([]);
    const index = JSON.parse(await readFile(join(root, 'images.json'), 'utf8')) as { images: object };
    expect(index.images).toEqual({});
  });
});
