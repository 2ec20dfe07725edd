import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { labPaths } from '../lab/paths.js';
import { LAB_TEST_IMAGE, LAB_TEST_IMAGE_PATH } from '../lab/registry.js';
import {
  AUTH_REGISTRY_PORT,
  pushTestImageVariant,
  startAuthRegistry,
  type AuthRegistry,
} from '../lab/registry-images.js';
import { encodeRegistryAuth } from '../engine/image/registry-auth-header.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';
import { docker, dockerOk } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';

// A service's image on real daemons: `service create` pins the tag to the digest the registry
// names (tswarm's CLI and the real docker CLI, through GET /distribution/{name}/json), so every
// task runs that image even after the tag moves; `--no-resolve-image` keeps the tag; and a
// registry that wants a login is pulled from with the caller's credentials only when the service
// was created `--with-registry-auth`, which no API shows and no log holds.
const name = `si${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let authRegistry: AuthRegistry;
const { ok, tswarm } = swarmCli(() => lab!);

interface PsTask {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string };
}
interface InspectedService {
  Spec: { TaskTemplate: { ContainerSpec: { Image: string }; Placement?: { Platforms?: unknown[] } } };
}

const pollRunning = { timeoutMs: 60_000, intervalMs: 500 };
const WORKERS = ['w1', 'w2'];
const DIGEST_WARNING = /could not be accessed on a registry to record/;

/** The digest the lab registry's tag `lab/busybox:1` names now, read from its storage (not through tswarm). */
async function tagDigest(): Promise<string> {
  const [repo, tag] = LAB_TEST_IMAGE_PATH.split(':') as [string, string];
  const link = join(
    lab!.requireRegistry().dir,
    'data/docker/registry/v2/repositories',
    repo,
    '_manifests/tags',
    tag,
    'current/link',
  );
  return (await readFile(link, 'utf8')).trim();
}

async function serviceImage(service: string): Promise<InspectedService['Spec']['TaskTemplate']> {
  const [s] = JSON.parse(await ok('m1', 'service', 'inspect', service)) as InspectedService[];
  return s!.Spec.TaskTemplate;
}

/** Waits until `n` tasks of `service` run; returns them. */
async function running(service: string, n: number): Promise<PsTask[]> {
  return waitFor(
    async () => {
      const tasks = (JSON.parse(await ok('m1', 'service', 'ps', service, '--format', 'json')) as PsTask[]).filter(
        (t) => t.DesiredState === 'running' && t.Status.State === 'running',
      );
      return tasks.length === n && tasks;
    },
    { what: `${n} tasks of ${service} running`, ...pollRunning },
  );
}

/** The containers of `service` on the workers, as `docker ps --no-trunc` there shows them. */
async function containersOf(service: string): Promise<{ host: string; id: string; image: string }[]> {
  const found: { host: string; id: string; image: string }[] = [];
  for (const host of WORKERS) {
    const out = await dockerOk(lab!, host, [
      'ps',
      '--no-trunc',
      '--filter',
      `label=com.docker.swarm.service.name=${service}`,
      '--format',
      '{{.ID}} {{.Image}}',
    ]);
    for (const line of out.split('\n').filter((l) => l.trim() !== '')) {
      const [id = '', image = ''] = line.split(' ');
      found.push({ host, id, image });
    }
  }
  return found;
}

/** A container's image ID and environment (the image's with the spec's on top), from `docker inspect`. */
async function imageOf(host: string, containerId: string): Promise<{ imageId: string; env: string[] }> {
  const out = await dockerOk(lab!, host, ['inspect', '--format', '{{.Image}} {{json .Config.Env}}', containerId]);
  const space = out.indexOf(' ');
  return { imageId: out.slice(0, space), env: JSON.parse(out.slice(space + 1)) as string[] };
}

/** `tswarm service create --detach --name NAME --constraint node.role==worker [FLAGS] IMAGE sleep 1d` on m1. */
function createOnWorkers(service: string, image: string, ...flags: string[]) {
  const args = ['--detach', '--name', service, '--constraint', 'node.role==worker', ...flags, image, 'sleep', '1d'];
  return tswarm('m1', 'service', 'create', ...args);
}

describe('service images: digests pinned at create, registry credentials for one service', () => {
  beforeAll(async () => {
    lab = await Lab.up({
      name,
      managers: 1,
      workers: 2,
      registry: true,
      daemonArgs: ['--insecure-registry', `192.168.77.5:${AUTH_REGISTRY_PORT}`],
    });
    [authRegistry] = await Promise.all([startAuthRegistry(lab), formSwarm(lab)]);
  }, 180_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('tswarm service create pins the digest; new tasks keep it after the tag moves; --no-resolve-image keeps the tag', async () => {
    const first = await tagDigest();
    const pinned = `${LAB_TEST_IMAGE}@${first}`;
    const created = await createOnWorkers('pinned', LAB_TEST_IMAGE);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).not.toMatch(DIGEST_WARNING);
    expect((await serviceImage('pinned')).ContainerSpec.Image).toBe(pinned);
    expect(await ok('m1', 'service', 'ls')).toMatch(
      /pinned\s+replicated\s+\d\/1\s+192\.168\.77\.5:5000\/lab\/busybox:1\n/,
    );

    await running('pinned', 1);
    const [before] = await containersOf('pinned');
    // Docker's view of a pinned service's container: the full reference, and NAME:TAG in `docker ps`.
    expect(before!.image).toBe(pinned);
    expect(await dockerOk(lab!, before!.host, ['ps', '--filter', `id=${before!.id}`, '--format', '{{.Image}}'])).toBe(
      `${LAB_TEST_IMAGE}\n`,
    );
    const firstImage = await imageOf(before!.host, before!.id);

    // The tag moves to another image (a new config: one more environment variable).
    const moved = await pushTestImageVariant(lab!, LAB_TEST_IMAGE_PATH, 'VARIANT=2');
    expect(moved).not.toBe(first);
    expect(await tagDigest()).toBe(moved);

    // Three more tasks, on both workers (one of which has never pulled the image): all run the first image.
    expect(await ok('m1', 'service', 'scale', '--detach', 'pinned=4')).toBe('pinned scaled to 4\n');
    await running('pinned', 4);
    const after = await containersOf('pinned');
    expect(after).toHaveLength(4);
    expect(new Set(after.map((c) => c.host))).toEqual(new Set(WORKERS));
    for (const c of after) {
      expect(c.image).toBe(pinned);
      const { imageId, env } = await imageOf(c.host, c.id);
      expect(imageId).toBe(firstImage.imageId);
      expect(env).not.toContain('VARIANT=2');
    }

    // Without resolving, the spec keeps the tag, and each node pulls whatever it names then.
    const floating = await createOnWorkers('floating', LAB_TEST_IMAGE, '--no-resolve-image');
    expect(floating.code, floating.stderr).toBe(0);
    expect(floating.stderr).not.toMatch(DIGEST_WARNING);
    expect((await serviceImage('floating')).ContainerSpec.Image).toBe(LAB_TEST_IMAGE);
    await running('floating', 1);
    const [tagged] = await containersOf('floating');
    expect(tagged!.image).toBe(LAB_TEST_IMAGE);
    expect((await imageOf(tagged!.host, tagged!.id)).env).toContain('VARIANT=2');
  }, 150_000);

  it('the real docker CLI pins the digest through the same API, without a warning', async () => {
    const now = await tagDigest();
    const r = await docker(lab!, 'm1', [
      'service',
      'create',
      '--detach',
      '--name',
      'bydocker',
      '--constraint',
      'node.role==worker',
      LAB_TEST_IMAGE,
      'sleep',
      '1d',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(DIGEST_WARNING);
    const template = await serviceImage('bydocker');
    expect(template.ContainerSpec.Image).toBe(`${LAB_TEST_IMAGE}@${now}`);
    // docker's client also turns the image's platform into placement; the scheduler still places it.
    expect(template.Placement?.Platforms).toEqual([{ Architecture: 'amd64', OS: 'linux' }]);
    await running('bydocker', 1);
    const ls = await dockerOk(lab!, 'm1', ['service', 'ls', '--filter', 'name=bydocker']);
    expect(ls).toMatch(/bydocker\s+replicated\s+1\/1\s+192\.168\.77\.5:5000\/lab\/busybox:1\s*\n/);
  }, 90_000);

  it('a registry that wants a login: rejected without --with-registry-auth, run with it; the login shown nowhere', async () => {
    const image = authRegistry.image;
    await ok('m1', 'login', '-u', authRegistry.username, '-p', authRegistry.password, authRegistry.host);
    // m1's login resolves the digest; the workers have none of their own.
    const noauth = await createOnWorkers('noauth', image);
    expect(noauth.code, noauth.stderr).toBe(0);
    expect(noauth.stderr).not.toMatch(DIGEST_WARNING);
    expect((await serviceImage('noauth')).ContainerSpec.Image).toMatch(/^192\.168\.77\.5:5001\/lab\/busybox:1@sha256:/);
    const rejected = await waitFor(
      async () =>
        (JSON.parse(await ok('m1', 'service', 'ps', 'noauth', '--format', 'json')) as PsTask[]).find(
          (t) => t.Status.State === 'rejected',
        ),
      { what: 'a task of noauth rejected', ...pollRunning },
    );
    expect(rejected.Status.Err).toMatch(/registry 192\.168\.77\.5:5001 requires authentication.*--with-registry-auth$/);
    await ok('m1', 'service', 'rm', 'noauth');

    const withAuth = await createOnWorkers('withauth', image, '--with-registry-auth', '--replicas', '2');
    expect(withAuth.code, withAuth.stderr).toBe(0);
    expect(withAuth.stderr).toBe('');
    await running('withauth', 2);
    expect(new Set((await containersOf('withauth')).map((c) => c.host))).toEqual(new Set(WORKERS));

    // Neither the password nor the header that carried it shows anywhere a user or a log can see.
    const secrets = [authRegistry.password, encodeRegistryAuth(authRegistry, authRegistry.host)];
    const shown = [
      await ok('m1', 'service', 'inspect', 'withauth'),
      await dockerOk(lab!, 'm1', ['service', 'inspect', 'withauth']),
      JSON.stringify(await apiGet(lab!, 'm1', '/tasks')),
      JSON.stringify(await apiGet(lab!, 'm1', '/services')),
      ...(await Promise.all((await containersOf('withauth')).map((c) => dockerOk(lab!, c.host, ['inspect', c.id])))),
      ...(await Promise.all(['m1', ...WORKERS].map((h) => readFile(labPaths.daemonLog(lab!.name, h), 'utf8')))),
    ];
    for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
    // The workers pulled with the service's credentials, not a login of their own.
    for (const w of WORKERS)
      expect(existsSync(join(labPaths.dataDir(lab!.name, w), 'engine', 'credentials.json'))).toBe(false);
  }, 120_000);
});
