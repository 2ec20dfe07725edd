import { destroyTestEngine } from './testing/test-engine.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import { TswarmError } from '../lib/errors.js';
import { waitFor } from '../lib/poll.js';
import type { ContainerRunResponse, DeepPartial, ContainerConfig } from '../gen/tswarm/v1/engine.js';
import { Engine, LABEL_IMAGE_ID } from './engine.js';
import { buildBusyboxImage } from './image/busybox-image.js';
import { pushTestImage } from './image/testing/test-images.js';
import { startTestRegistry, type TestRegistry } from './image/testing/test-registry.js';
import { randomPrefix } from './testing/scratch.js';

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
  id: string;
  pulls: number;
  /** Containers that existed when the first pull report arrived. */
  containersAtFirstPull: number | undefined;
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

async function run(config: DeepPartial<ContainerConfig>, command: string[]): Promise<RunOutput> {
  const out: RunOutput = {
    id: '',
    pulls: 0,
    containersAtFirstPull: undefined,
    stdout: '',
    stderr: '',
    exitCode: undefined,
  };
  const onEvent = (e: ContainerRunResponse) => {
    if (e.id !== undefined) out.id = e.id;
    if (e.pull && out.pulls++ === 0) out.containersAtFirstPull = engine.containerList({ all: true }).length;
    if (e.output) out[e.output.stream === 'stdout' ? 'stdout' : 'stderr'] += Buffer.from(e.output.data).toString();
    if (e.exitCode !== undefined) out.exitCode = e.exitCode;
  };
  await engine.containerRun(
    { networkMode: 'none', ...config, spec: { image: ref, command, ...config.spec } },
    { attach: true, onEvent },
  );
  return out;
}

describe('Engine', () => {
  it('pulls a missing image on run, streams the output and ends with the exit code', async () => {
    const before = engine.containerList({ all: true }).length;
    const r = await run({}, ['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    expect(r.pulls).toBeGreaterThan(0);
    // Progress is sent while the pull runs, not held back until the container exists.
    expect(r.containersAtFirstPull).toBe(before);
    expect([r.stdout, r.stderr, r.exitCode]).toEqual(['hello\n', 'oops\n', 3]);
    expect(engine.containerInspect(r.id).container?.state?.status).toBe('exited');
    expect(engine.containerList({ all: true }).some((c) => c.id === r.id)).toBe(true);
    expect(engine.containerList().some((c) => c.id === r.id)).toBe(false);
  });

  it('removes an auto-remove container after it exits, output read first', async () => {
    const r = await run({ autoRemove: true }, ['sh', '-c', 'echo bye']);
    expect([r.stdout, r.exitCode]).toEqual(['bye\n', 0]);
    await waitFor(() => !engine.containerList({ all: true }).some((c) => c.id === r.id), {
      what: 'the --rm container to go',
      timeoutMs: 10_000,
    });
  });

  it('ends with 127 when the command does not exist, and says why', async () => {
    const r = await run({ autoRemove: true }, ['/no/such/cmd']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/^Error: /);
    expect(engine.containerList({ all: true }).some((c) => c.id === r.id)).toBe(false);
  });

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
    const none = await run({ networkMode: 'none' }, ['cat', '/proc/net/dev']);
    expect(none.stdout).toMatch(/\blo:/);
    expect(hostIfaces.filter((n) => n !== 'lo').some((n) => none.stdout.includes(`${n}:`))).toBe(false);
    const host = await run({ networkMode: 'host' }, ['cat', '/proc/net/dev']);
    for (const n of hostIfaces) expect(host.stdout).toContain(`${n}:`);
  });

  it('falls back from the default bridge to none with a warning when the node has no bridge networking', async () => {
    const r = await run({ networkMode: '' }, ['true']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('WARNING: bridge networking is not available');
    await expect(engine.containerCreate({ networkMode: 'bridge', spec: { image: ref } })).rejects.toThrow(
      /bridge networking is not available/,
    );
  });

  it('says plainly when volumes are missing on the node', async () => {
    await expect(engine.volumeList()).rejects.toThrow(TswarmError);
    await expect(engine.volumeList()).rejects.toThrow(/volumes are not available on this node/);
  });
});
