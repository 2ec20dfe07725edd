import { destroyTestEngine } from './testing/test-engine.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import { TswarmError } from '../lib/errors.js';
import { waitFor } from '../lib/poll.js';
import type { DeepPartial, ContainerConfig } from '../gen/tswarm/v1/engine.js';
import { Engine, LABEL_IMAGE_ID } from './engine.js';
import { buildBusyboxImage } from './image/busybox-image.js';
import { pushTestImage } from './image/testing/test-images.js';
import { startTestRegistry, type TestRegistry } from './image/testing/test-registry.js';
import { randomPrefix, removePrefixCgroups } from './testing/scratch.js';
import { LocalNetworking } from './network/local-networking.js';
import type { ContainerNetworking } from './network-contract.js';

/** Real parts end to end: a registry on loopback, the image store, crun under conmon. */
let registry: TestRegistry;
let dir: string;
let engine: Engine;
let ref: string;
const prefix = randomPrefix();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-engine-'));
  registry = await startTestRegistry();
  await buildBusyboxImage(join(dir, 'layout'), 'bb');
  await pushTestImage(join(dir, 'layout'), 'bb', registry.host, 'busybox', '1');
  // A different image (one more layer), so removing its tag deletes it rather than untagging a shared one.
  await buildBusyboxImage(join(dir, 'layout'), 'bb2', { withChangesLayer: true });
  await pushTestImage(join(dir, 'layout'), 'bb2', registry.host, 'other', '1');
  ref = `${registry.host}/test/busybox:1`;
  engine = await Engine.open({
    dataDir: join(dir, 'data'),
    namePrefix: prefix,
    insecureRegistries: [registry.host],
    log: silentLogger(),
    registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
  });
}, 60_000);

afterAll(async () => {
  await destroyTestEngine({ engine, registry, prefix, dir });
}, 60_000);

interface RunOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
  warnings: string[];
}

/** Creates (pulling if needed), starts and waits for a container; then removes it. */
async function runToExit(config: DeepPartial<ContainerConfig>, command: string[]): Promise<RunOutput> {
  const { id, warnings } = await engine.containerCreate({
    networkMode: 'none',
    ...config,
    spec: { image: ref, command, ...config.spec },
  });
  await engine.containerStart(id);
  const { exitCode } = await engine.containerWait(id);
  const out = { stdout: '', stderr: '', exitCode, warnings };
  for await (const r of engine.containerLogs(id, {})) out[r.stream] += r.data.toString();
  await engine.containerRemove(id);
  return out;
}

describe('Engine', () => {
  it('refuses to remove an image a container uses, and allows it once the container is gone', async () => {
    const other = `${registry.host}/test/other:1`;
    const { id } = await engine.containerCreate({ networkMode: 'none', spec: { image: other, command: ['true'] } });
    const imageId = engine.containerInspect(id).container!.labels[LABEL_IMAGE_ID]!;
    expect(engine.isInUse(imageId)).toBe(true);
    const name = engine.containerInspect(id).container!.name;
    await expect(engine.images.remove(other)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`is used by container ${name}`),
    });
    await engine.containerRemove(id);
    await expect(engine.images.remove(other)).resolves.toMatchObject({ untagged: [other], deleted: [imageId] });
  });

  it('gives none a loopback-only namespace and host the host’s', async () => {
    const hostIfaces = (await readFile('/proc/net/dev', 'utf8'))
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n !== '');
    const none = await runToExit({ networkMode: 'none' }, ['cat', '/proc/net/dev']);
    expect(none.stdout).toMatch(/\blo:/);
    expect(hostIfaces.filter((n) => n !== 'lo').some((n) => none.stdout.includes(`${n}:`))).toBe(false);
    const host = await runToExit({ networkMode: 'host' }, ['cat', '/proc/net/dev']);
    for (const n of hostIfaces) expect(host.stdout).toContain(`${n}:`);
  });

  it('falls back from the default bridge to none with a warning when the node has no bridge networking', async () => {
    const r = await runToExit({ networkMode: '' }, ['true']);
    expect(r.exitCode).toBe(0);
    expect(r.warnings.join('\n')).toContain('bridge networking is not available');
    await expect(engine.containerCreate({ networkMode: 'bridge', spec: { image: ref } })).rejects.toThrow(
      /bridge networking is not available/,
    );
  });

  it('says plainly when volumes are missing on the node', async () => {
    await expect(engine.volumeList()).rejects.toThrow(TswarmError);
    await expect(engine.volumeList()).rejects.toThrow(/volumes are not available on this node/);
  });
});

describe('a create whose start follows at once (a task agent’s)', () => {
  it('keeps the network attachment for that start instead of letting it go and making it again', async () => {
    const calls: string[] = [];
    const local = new LocalNetworking();
    const counting: ContainerNetworking = {
      attach: (id, mode, ports) => (calls.push('attach'), local.attach(id, mode, ports)),
      detach: (id) => (calls.push('detach'), local.detach(id)),
      reconcile: (live) => local.reconcile(live),
    };
    const ownPrefix = randomPrefix();
    const own = await Engine.open({
      dataDir: join(dir, 'data-starts-next'),
      namePrefix: ownPrefix,
      insecureRegistries: [registry.host],
      log: silentLogger(),
      networking: counting,
      registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
      holdAfterCreateMs: 300,
    });
    try {
      const config = { networkMode: 'none', spec: { image: ref, command: ['sleep', '60'] } };
      // `docker create`, later `docker start`: let go once the hold passed, made again by the start.
      const plain = await own.containerCreate(config);
      await waitFor(() => calls.length === 2, { what: 'the attachment let go after the hold', timeoutMs: 10_000 });
      await own.containerStart(plain.id);
      expect(calls).toEqual(['attach', 'detach', 'attach']);
      calls.length = 0;
      // `docker run`: a create and a start at once — the attachment is kept for the start.
      const run = await own.containerCreate(config);
      await own.containerStart(run.id);
      expect(calls).toEqual(['attach']);
      calls.length = 0;
      calls.length = 0;
      const next = await own.containerCreate(config, { startsNext: true });
      await own.containerStart(next.id);
      expect(calls).toEqual(['attach']);
      expect(own.containerInspect(next.id).container?.state?.status).toBe('running');
      // Its removal lets the kept attachment go, as any other (the stop and the removal both
      // detach; the second finds nothing left).
      await own.containerRemove(next.id, { force: true });
      expect(calls[0]).toBe('attach');
      expect(new Set(calls.slice(1))).toEqual(new Set(['detach']));
    } finally {
      for (const c of own.containerList({ all: true })) await own.containerRemove(c.id, { force: true });
      await own.close();
      await removePrefixCgroups(ownPrefix);
    }
  }, 60_000);
});
