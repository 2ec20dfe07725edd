import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { buildBusyboxImage } from '../engine/image/busybox-image.js';
import { makeArchive } from '../engine/image/testing/test-images.js';
import { docker, dockerOk, dockerPy, rawRequest } from './support/docker.js';
import { show, tswarm, tswarmOk } from './support/engine.js';

/**
 * Images, volumes and networks through the Engine API on one lab host (m1) with the lab
 * registry (.5), driven by clients nobody here wrote: the docker CLI and the Python docker SDK,
 * plus raw requests for what no client sends.
 */
const name = `di${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let image = '';
let registryHost = '';
let work = '';
const L = () => lab as Lab;

/** One request on its own connection; the answer's status code and body. */
async function request(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: docker', 'Connection: close'];
  if (body !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  const { response } = await rawRequest(L(), 'm1', `${head.join('\r\n')}\r\n\r\n${body ?? ''}`);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
  return { status, body: response.slice(response.indexOf('\r\n\r\n') + 4) };
}

describe('docker images, volumes and networks on a lab host', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 0, registry: true, logLevel: 'warn' });
    const registry = lab.requireRegistry();
    image = registry.image;
    registryHost = registry.host;
    work = await mkdtemp(join(tmpdir(), 'tswarm-docker-images-'));
  });

  afterAll(async () => {
    await lab?.down();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('docker pull shows layer progress, then the image is listed; a second pull is up to date', async () => {
    const first = await dockerOk(L(), 'm1', ['pull', image]);
    expect(first).toContain('1: Pulling from lab/busybox');
    // The lab is fresh: nothing of the image is on the host yet.
    expect(first).toMatch(/[0-9a-f]{12}: Pull complete/);
    expect(first).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(first).toContain(`Status: Downloaded newer image for ${image}`);
    const second = await dockerOk(L(), 'm1', ['pull', image]);
    show(`first docker pull:\n${first}second:\n${second}`);
    expect(second).toContain(`Status: Image is up to date for ${image}`);
    const ls = await dockerOk(L(), 'm1', ['image', 'ls']);
    const row = ls.split('\n').find((l) => l.startsWith(`${registryHost}/lab/busybox `));
    expect(row, ls).toBeDefined();
    expect(row!.split(/\s+/)[1]).toBe('1');
    expect(ls.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
  });

  it('docker pull of a missing image fails with a clear message and exit 1', async () => {
    const r = await docker(L(), 'm1', ['pull', `${registryHost}/lab/nope:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lab\/nope:1 not found/);
  });

  it('docker image inspect, tag and rm of the tag', async () => {
    await dockerOk(L(), 'm1', ['pull', image]);
    const id = (await dockerOk(L(), 'm1', ['image', 'inspect', '-f', '{{.Id}}', image])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = JSON.parse(await dockerOk(L(), 'm1', ['image', 'inspect', image])) as {
      RepoTags: string[];
      Os: string;
      RootFS: { Type: string; Layers: string[] };
    }[];
    expect(inspected[0]?.RepoTags).toContain(image);
    expect(inspected[0]?.Os).toBe('linux');
    expect(inspected[0]?.RootFS.Type).toBe('layers');
    expect(inspected[0]?.RootFS.Layers.length).toBe(2);
    await dockerOk(L(), 'm1', ['tag', image, 'lab/copy:2']);
    expect((await dockerOk(L(), 'm1', ['image', 'inspect', '-f', '{{.Id}}', 'lab/copy:2'])).trim()).toBe(id);
    expect(await dockerOk(L(), 'm1', ['image', 'ls', 'lab/copy'])).toMatch(/lab\/copy\s+2\s/);
    const removed = await dockerOk(L(), 'm1', ['image', 'rm', 'lab/copy:2']);
    expect(removed).toContain('Untagged: lab/copy:2');
    expect(removed).not.toContain('Deleted');
    expect((await dockerOk(L(), 'm1', ['image', 'ls', '-q', 'lab/copy'])).trim()).toBe('');
  });

  it('docker load -i takes a docker save archive', async () => {
    const layout = join(work, 'layout');
    const archive = join(work, 'loaded.tar');
    await buildBusyboxImage(layout, 'bb');
    await makeArchive(layout, 'bb', 'docker', archive, 'lab/loaded:1');
    const out = await dockerOk(L(), 'm1', ['load', '-i', archive], 120_000);
    expect(out).toContain('Loaded image: lab/loaded:1');
    expect(await dockerOk(L(), 'm1', ['image', 'ls', 'lab/loaded'])).toMatch(/lab\/loaded\s+1\s/);
  });

  it('docker volume create, ls, inspect and rm', async () => {
    expect((await dockerOk(L(), 'm1', ['volume', 'create', '--label', 'team=a', 'v1'])).trim()).toBe('v1');
    const ls = await dockerOk(L(), 'm1', ['volume', 'ls']);
    expect(ls).toMatch(/^DRIVER\s+VOLUME NAME/);
    expect(ls).toMatch(/local\s+v1\n/);
    expect(await dockerOk(L(), 'm1', ['volume', 'ls', '-q', '--filter', 'label=team=b'])).toBe('');
    const [v] = JSON.parse(await dockerOk(L(), 'm1', ['volume', 'inspect', 'v1'])) as Record<string, unknown>[];
    expect(v).toMatchObject({ Name: 'v1', Driver: 'local', Scope: 'local', Labels: { team: 'a' } });
    expect(String(v?.['Mountpoint'])).toMatch(/\/v1\/_data$/);
    expect((await dockerOk(L(), 'm1', ['volume', 'rm', 'v1'])).trim()).toBe('v1');
    const gone = await docker(L(), 'm1', ['volume', 'inspect', 'v1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('v1');
    // prune -a takes named volumes too (Docker 23).
    await dockerOk(L(), 'm1', ['volume', 'create', 'v2']);
    const pruned = await dockerOk(L(), 'm1', ['volume', 'prune', '-a', '-f']);
    expect(pruned).toMatch(/Deleted Volumes:\nv2\n/);
    expect(await dockerOk(L(), 'm1', ['volume', 'ls', '-q'])).not.toContain('v2');
  });

  it('docker image prune and the dangling filter', async () => {
    expect(await dockerOk(L(), 'm1', ['image', 'ls', '-q', '--filter', 'dangling=true'])).toBe('');
    expect(await dockerOk(L(), 'm1', ['image', 'prune', '-f'])).toContain('Total reclaimed space:');
    const bad = await docker(L(), 'm1', ['image', 'ls', '--filter', 'bogus=1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid filter 'bogus'");
  });

  it('docker network ls shows bridge, host and none; inspect bridge shows its subnet', async () => {
    const ls = await dockerOk(L(), 'm1', ['network', 'ls']);
    expect(ls).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE/);
    expect(ls).toMatch(/[0-9a-f]{12}\s+bridge\s+bridge\s+local/);
    expect(ls).toMatch(/[0-9a-f]{12}\s+host\s+host\s+local/);
    expect(ls).toMatch(/[0-9a-f]{12}\s+none\s+null\s+local/);
    const [bridge] = JSON.parse(await dockerOk(L(), 'm1', ['network', 'inspect', 'bridge'])) as {
      Name: string;
      IPAM: { Config: { Subnet: string; Gateway: string }[] };
    }[];
    expect(bridge?.Name).toBe('bridge');
    expect(bridge?.IPAM.Config[0]).toEqual({ Subnet: '172.30.0.0/16', Gateway: '172.30.0.1' });
    const create = await docker(L(), 'm1', ['network', 'create', 'mine']);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain('network create is not supported yet: overlay networks come with services');
  });

  it('the Python SDK pulls and lists images', async () => {
    const r = await dockerPy(
      L(),
      'm1',
      [
        'import docker',
        'c = docker.from_env()',
        `img = c.images.pull(${JSON.stringify(`${registryHost}/lab/busybox`)}, tag="1")`,
        'print("tags", img.tags)',
        'print("listed", any(' + JSON.stringify(image) + ' in i.tags for i in c.images.list()))',
      ].join('\n'),
      120_000,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`tags ['${image}']`);
    expect(r.stdout).toContain('listed True');
  });

  it('refuses a bad volume body (400), an unknown image (404) and removing an image in use (409)', async () => {
    const bad = await request('POST', '/v1.50/volumes/create', JSON.stringify({ Name: 5 }));
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('Name must be a string, not number');
    const missing = await request('GET', '/v1.50/images/nope:1/json');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('no such image: nope:1');
    await dockerOk(L(), 'm1', ['pull', image]);
    await tswarmOk(L(), 'm1', ['run', '-d', '--name', 'holder', image, 'sleep', '300']);
    try {
      const inUse = await request('DELETE', `/v1.50/images/${image}`);
      expect(inUse.status).toBe(409);
      expect(inUse.body).toContain('holder');
      // The bridge shows the container attached to it.
      const bridge = await dockerOk(L(), 'm1', [
        'network',
        'inspect',
        '-f',
        '{{range .Containers}}{{.Name}} {{end}}',
        'bridge',
      ]);
      expect(bridge.trim().split(' ')).toContain('holder');
    } finally {
      await tswarm(L(), 'm1', ['container', 'rm', '-f', 'holder']);
    }
  });
});
