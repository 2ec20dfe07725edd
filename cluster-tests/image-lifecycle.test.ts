import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { docker, dockerOk } from './support/docker.js';
import { show, tswarm, tswarmOk } from './support/engine.js';

/**
 * Commit, push, save and history with the real docker CLI against tswarmd on lab hosts: a
 * container's changes (a new file, a deleted file of its image) committed on w1, pushed to the
 * lab registry and run on w2; two images saved, removed and loaded back under the same IDs.
 */
const name = `il${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let image = '';
let registryHost = '';
let work = '';
const L = () => lab as Lab;

describe('image lifecycle on lab hosts: commit, push, pull elsewhere, history, save and load', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 2, registry: true, logLevel: 'warn' });
    const registry = lab.requireRegistry();
    image = registry.image;
    registryHost = registry.host;
    work = await mkdtemp(join(tmpdir(), 'tswarm-image-lifecycle-'));
  });

  afterAll(async () => {
    await lab?.down();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a container committed and pushed on w1 runs on w2 with its file, and a deleted base file stays deleted', async () => {
    const target = `${registryHost}/lab/committed-${name}:1`;
    await dockerOk(L(), 'w1', ['pull', image]);
    // The lab image holds /etc/kept.txt; the container deletes it and writes a file of its own.
    expect(await dockerOk(L(), 'w1', ['run', '--rm', image, 'cat', '/etc/kept.txt'])).toBe('kept\n');
    await dockerOk(L(), 'w1', [
      'run',
      '-d',
      '--name',
      'maker',
      image,
      'sh',
      '-c',
      'echo made-on-w1 > /made.txt && rm /etc/kept.txt && sleep 300',
    ]);
    // The shell's first two commands are done once /made.txt is there (it is written first, kept.txt then removed).
    await pollUntil(
      async () => (await docker(L(), 'w1', ['exec', 'maker', 'ls', '/etc'])).stdout.includes('kept.txt') === false,
    );
    const id = (
      await dockerOk(L(), 'w1', [
        'commit',
        '-m',
        'made a file',
        '-a',
        'lab tester',
        '-c',
        'CMD ["cat", "/made.txt"]',
        '-c',
        'ENV MADE=yes',
        'maker',
        `lab/local-${name}:1`,
      ])
    ).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Paused for the commit (crun pause), and running again after it.
    expect(await readFile(labPaths.daemonLog(name, 'w1'), 'utf8')).not.toContain('could not be paused');
    expect((await dockerOk(L(), 'w1', ['inspect', '-f', '{{.State.Running}}', 'maker'])).trim()).toBe('true');
    await dockerOk(L(), 'w1', ['tag', `lab/local-${name}:1`, target]);
    const pushed = await dockerOk(L(), 'w1', ['push', target], 90_000);
    show(`docker push:\n${pushed}`);
    expect(pushed).toContain(`The push refers to repository [${registryHost}/lab/committed-${name}]`);
    expect(pushed).toMatch(/[0-9a-f]{12}: Pushed/);
    expect(pushed).toMatch(/1: digest: sha256:[0-9a-f]{64} size: \d+/);

    // docker history: the commit on top with its message and the image's ID, the base's entries below.
    const history = await dockerOk(L(), 'w1', ['history', '--no-trunc', target]);
    show(`docker history:\n${history}`);
    const rows = history.trim().split('\n');
    expect(rows[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    expect(rows[1]).toContain(id);
    expect(rows[1]).toContain('made a file');
    expect(rows.length).toBeGreaterThan(2);
    expect(rows.slice(2).every((r) => r.startsWith('<missing>'))).toBe(true);

    const pulled = await dockerOk(L(), 'w2', ['pull', target], 90_000);
    expect(pulled).toContain(`Status: Downloaded newer image for ${target}`);
    expect((await dockerOk(L(), 'w2', ['image', 'inspect', '-f', '{{.Id}}', target])).trim()).toBe(id);
    // The committed CMD runs the file out; the base's deleted file is gone.
    expect(await dockerOk(L(), 'w2', ['run', '--rm', target])).toBe('made-on-w1\n');
    expect(await dockerOk(L(), 'w2', ['run', '--rm', target, 'sh', '-c', 'echo $MADE; ls /etc'])).not.toContain(
      'kept.txt',
    );
    const env = await dockerOk(L(), 'w2', ['run', '--rm', target, 'sh', '-c', 'echo $MADE']);
    expect(env).toBe('yes\n');
    await dockerOk(L(), 'w1', ['rm', '-f', 'maker']);
  }, 240_000);

  it('docker save of two images, image rm, docker load: both back with the same IDs', async () => {
    const second = `lab/second-${name}:2`;
    await dockerOk(L(), 'w1', ['pull', image]);
    await dockerOk(L(), 'w1', ['run', '--name', 'seconder', image, 'sh', '-c', 'echo two > /two.txt']);
    await dockerOk(L(), 'w1', ['commit', 'seconder', second]);
    await dockerOk(L(), 'w1', ['rm', 'seconder']);
    const ids = async () =>
      Promise.all(
        [image, second].map(async (r) => (await dockerOk(L(), 'w1', ['image', 'inspect', '-f', '{{.Id}}', r])).trim()),
      );
    const before = await ids();
    const archive = join(work, 'two.tar');
    await dockerOk(L(), 'w1', ['save', '-o', archive, image, second], 90_000);
    const removed = await dockerOk(L(), 'w1', ['image', 'rm', image, second]);
    expect(removed).toContain(`Untagged: ${second}`);
    expect((await docker(L(), 'w1', ['image', 'inspect', second])).code).toBe(1);
    const loaded = await dockerOk(L(), 'w1', ['load', '-i', archive], 90_000);
    show(`docker load:\n${loaded}`);
    expect(loaded).toContain(`Loaded image: ${image}`);
    expect(loaded).toContain(`Loaded image: ${second}`);
    expect(await ids()).toEqual(before);
    expect(await dockerOk(L(), 'w1', ['run', '--rm', second, 'cat', '/two.txt'])).toBe('two\n');
  }, 180_000);

  it('refuses clearly: an unknown container, a bad --change, a push without a registry host', async () => {
    const missing = await docker(L(), 'w1', ['commit', 'no-such-container', 'lab/x:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-container/);
    await dockerOk(L(), 'w1', ['run', '--name', 'changer', image, 'true']);
    const bad = await docker(L(), 'w1', ['commit', '-c', 'RUN echo', 'changer', 'lab/bad:1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/RUN is not an instruction commit takes \(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL/);
    await dockerOk(L(), 'w1', ['commit', 'changer', `lab/nohost-${name}:1`]);
    const push = await docker(L(), 'w1', ['push', `lab/nohost-${name}:1`]);
    expect(push.code).toBe(1);
    expect(push.stdout + push.stderr).toMatch(/no registry host/);
  }, 120_000);

  it('the tswarm CLI: container commit, image push, history, save, rm and load', async () => {
    const target = `${registryHost}/lab/tswarm-${name}:3`;
    await tswarmOk(L(), 'w2', ['image', 'pull', image]);
    await tswarmOk(L(), 'w2', ['run', '--name', 'tmaker', image, 'sh', '-c', 'echo via-tswarm > /t.txt']);
    const id = (
      await tswarmOk(L(), 'w2', ['container', 'commit', '-m', 'tswarm made', '-c', 'ENV T=1', 'tmaker', target])
    ).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const pushed = await tswarmOk(L(), 'w2', ['image', 'push', target], 90_000);
    expect(pushed).toMatch(/3: digest: sha256:[0-9a-f]{64}/);
    const history = await tswarmOk(L(), 'w2', ['image', 'history', target]);
    expect(history.split('\n')[1]).toContain('tswarm made');
    const archive = join(work, 'tswarm.tar');
    await tswarmOk(L(), 'w2', ['image', 'save', '-o', archive, target]);
    await tswarmOk(L(), 'w2', ['container', 'rm', 'tmaker']);
    await tswarmOk(L(), 'w2', ['image', 'rm', target]);
    expect(await tswarmOk(L(), 'w2', ['image', 'load', '-i', archive])).toContain(`Loaded image: ${target}`);
    expect(await tswarmOk(L(), 'w2', ['run', '--rm', target, 'cat', '/t.txt'])).toBe('via-tswarm\n');
    const bad = await tswarm(L(), 'w2', ['commit', '-c', 'FROM x', 'nope-container']);
    expect(bad.code).not.toBe(0);
  }, 120_000);
});

/** Polls `check` every 200 ms for at most `timeoutMs`. */
async function pollUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
