import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from '../engine/image/busybox-image.js';
import { makeArchive } from '../engine/image/testing/test-images.js';
import { Lab } from '../lab/lab.js';
import type { LabRegistry } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { binDir } from '../lib/paths.js';
import {
  collectLines,
  engineDir,
  entries,
  httpGetFrom,
  inspect,
  namePrefix,
  show,
  tswarm,
  tswarmOk,
} from './support/engine.js';

/**
 * The engine on real daemons in the lab: one manager host (m1, 192.168.77.11), one worker host
 * (w1, .21) and the lab registry (.5), every step through the real CLI against real daemons.
 * The tests run in order and share the hosts; each names its own containers.
 */
const name = `ce${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let registry: LabRegistry | undefined;
let image = '';
const followers: ChildProcess[] = [];

const L = () => lab as Lab;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Blob downloads by the lab's daemons (the registry's own push came from its loopback). */
async function blobGets(): Promise<number> {
  const log = await readFile(registry!.logFile, 'utf8');
  return log
    .split('\n')
    .filter(
      (l) =>
        l.includes('response completed') &&
        l.includes('method=GET') &&
        l.includes('/blobs/') &&
        l.includes('remoteaddr="192.168.77.'),
    ).length;
}

describe('the engine on a lab host', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 1, registry: true, logLevel: 'warn' });
    registry = lab.requireRegistry();
    image = registry.image;
  });

  afterAll(async () => {
    for (const f of followers) f.kill('SIGKILL');
    await lab?.down();
  });

  it('pulls the test image from the lab registry; a second pull fetches nothing', async () => {
    const first = await tswarmOk(L(), 'm1', ['pull', image]);
    const afterFirst = await blobGets();
    const second = await tswarmOk(L(), 'm1', ['pull', image]);
    show(
      `first pull (${afterFirst} blob GETs):\n${first}second pull (${(await blobGets()) - afterFirst} blob GETs):\n${second}`,
    );
    expect(afterFirst).toBe(3); // config + two layers
    expect(await blobGets()).toBe(afterFirst);
    // Docker's words: each layer's first report ("Pulling fs layer", "Waiting"), then its outcome.
    const outcome = (out: string) =>
      out.split('\n').filter((l) => /^[0-9a-f]{12}: /.test(l) && !/: (Pulling fs layer|Waiting)$/.test(l));
    const layerLines = outcome(second);
    expect(layerLines.length).toBe(2);
    for (const l of layerLines) expect(l).toMatch(/: Already exists$/);
    expect(outcome(first).filter((l) => l.endsWith(': Pull complete')).length).toBe(2);
    expect(first).toMatch(/^Digest: sha256:[0-9a-f]{64}$/m);
    expect(first).toMatch(new RegExp(`^Status: Downloaded newer image for ${escapeRegExp(image)}$`, 'm'));
    expect(second).toMatch(new RegExp(`^Status: Image is up to date for ${escapeRegExp(image)}$`, 'm'));
    expect(await tswarmOk(L(), 'm1', ['run', '--rm', image, 'echo', 'ran'])).toBe('ran\n');
  });

  it('tags, lists by filter, inspects, removes, loads and prunes images; logs in and out of the registry', async () => {
    expect(await tswarmOk(L(), 'm1', ['image', 'tag', image, 'lab/copy:2'])).toBe('');
    expect(await tswarmOk(L(), 'm1', ['tag', image, 'lab/copy'])).toBe('');
    const copies = await tswarmOk(L(), 'm1', ['images', '-f', 'reference=lab/copy']);
    show(`images -f reference=lab/copy:\n${copies}`);
    const rows = copies.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(
      rows
        .slice(1)
        .map((r) => r.split(/\s+/).slice(0, 2).join(':'))
        .sort(),
    ).toEqual(['lab/copy:2', 'lab/copy:latest']);
    expect(await tswarmOk(L(), 'm1', ['image', 'ls', '-q', '-f', 'dangling=true'])).toBe('');
    const bad = await tswarm(L(), 'm1', ['images', '-f', 'dangling=maybe']);
    expect(bad.code).toBe(2);

    // Docker's inspect of several names: the found ones printed, the command fails with the missing one.
    const inspected = await tswarm(L(), 'm1', ['image', 'inspect', 'lab/copy:2', 'lab/nope:1']);
    expect(inspected.code).toBe(1);
    expect(inspected.stderr).toMatch(/^Error: no such image: lab\/nope:1/);
    const [doc] = JSON.parse(inspected.stdout) as { Id: string; RepoTags: string[]; RootFS: { Layers: string[] } }[];
    expect(doc?.RepoTags).toEqual(expect.arrayContaining([image, 'lab/copy:2', 'lab/copy:latest']));
    expect(doc?.RootFS.Layers).toHaveLength(2);

    const removed = await tswarmOk(L(), 'm1', ['image', 'rm', 'lab/copy:2', 'lab/copy']);
    expect(removed).toBe('Untagged: lab/copy:2\nUntagged: lab/copy:latest\n');

    const work = await mkdtemp(join(tmpdir(), 'tswarm-engine-load-'));
    try {
      const archive = join(work, 'loaded.tar');
      await buildBusyboxImage(join(work, 'layout'), 'bb');
      await makeArchive(join(work, 'layout'), 'bb', 'docker', archive, 'lab/loaded:1');
      expect(await tswarmOk(L(), 'm1', ['image', 'load', '-i', archive], 120_000)).toBe('Loaded image: lab/loaded:1\n');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const loadedId = (await tswarmOk(L(), 'm1', ['images', '-q', '-f', 'reference=lab/loaded'])).trim();
    expect(loadedId).toMatch(/^[0-9a-f]{12}$/);

    // prune takes only untagged images (none here); prune -a every unused one. The test image is
    // pulled again for the tests after this one.
    const imageId = (await tswarmOk(L(), 'm1', ['images', '-q', '-f', `reference=${image}`])).trim();
    // (Its reclaimed space may still count blobs no image refers to any more.)
    expect(await tswarmOk(L(), 'm1', ['image', 'prune'])).toMatch(/^Total reclaimed space: [\d.]+[kMG]?B\n$/);
    const pruned = await tswarmOk(L(), 'm1', ['image', 'prune', '-a']);
    show(`image prune -a:\n${pruned}`);
    const [head, ...lines] = pruned.split('\n');
    expect(head).toBe('Deleted Images:');
    const deletedIds = lines.slice(0, 2).map((l) => /^deleted: sha256:([0-9a-f]{64})$/.exec(l)?.[1]?.slice(0, 12));
    expect(deletedIds.sort()).toEqual([loadedId, imageId].sort());
    expect(lines.slice(2, 4)).toEqual(['', expect.stringMatching(/^Total reclaimed space: [1-9][\d.]*[kMG]?B$/)]);
    expect(await tswarmOk(L(), 'm1', ['images', '-q'])).toBe('');
    await tswarmOk(L(), 'm1', ['pull', image]);

    // The lab registry takes any credentials: the daemon checks them with it, then keeps them.
    const registryHost = registry!.host;
    const login = await tswarm(L(), 'm1', ['login', '-u', 'lab', '-p', 'pw', registryHost]);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('Login Succeeded\n');
    expect(login.stderr).toContain('WARNING! Using --password via the CLI is insecure');
    expect(await tswarmOk(L(), 'm1', ['logout', registryHost])).toBe(
      `Removing login credentials for ${registryHost}\n`,
    );
    expect(await tswarmOk(L(), 'm1', ['logout', registryHost])).toBe(`Not logged in to ${registryHost}\n`);
  });

  it('OOM-kills a process that allocates past its memory limit and says so', async () => {
    // busybox dd allocates its whole block (100 MB) and fills it from /dev/zero.
    const r = await tswarm(L(), 'm1', [
      'run',
      '--name',
      'oom',
      '-m',
      '32m',
      image,
      'dd',
      'if=/dev/zero',
      'of=/dev/null',
      'bs=100M',
      'count=1',
    ]);
    expect(r.code).toBe(137);
    const { State } = await inspect(L(), 'm1', 'oom');
    show(`run -m 32m dd bs=100M: exit ${r.code}; inspect state ${JSON.stringify(State)}`);
    expect(State).toMatchObject({ Status: 'exited', ExitCode: 137, OOMKilled: true });
  });

  it('puts the CPU quota and pids limit in the container cgroup; the pids limit stops a fork bomb', async () => {
    const id = (
      await tswarmOk(L(), 'm1', [
        'run',
        '-d',
        '--name',
        'limits',
        '--cpus',
        '0.5',
        '--pids-limit',
        '20',
        image,
        'sleep',
        '300',
      ])
    ).trim();
    const cgroup = `${await namePrefix(L(), 'm1')}/${id}`;
    const read = (controller: string, file: string) =>
      readFile(join('/sys/fs/cgroup', controller, cgroup, file), 'utf8').then((s) => s.trim());
    const quota = [
      await read('cpu', 'cpu.cfs_quota_us'),
      await read('cpu', 'cpu.cfs_period_us'),
      await read('pids', 'pids.max'),
    ];
    show(`/sys/fs/cgroup/{cpu,pids}/${cgroup}: cfs_quota_us/cfs_period_us/pids.max = ${quota.join(' / ')}`);
    expect(quota).toEqual(['50000', '100000', '20']);
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'limits']);

    const bomb = await tswarm(L(), 'm1', [
      'run',
      '--rm',
      '--pids-limit',
      '20',
      image,
      'sh',
      '-c',
      'for i in $(seq 1 200); do sleep 2 & done; wait',
    ]);
    show(`fork bomb under --pids-limit 20: exit ${bomb.code}, ${bomb.stderr.trim().split('\n')[0]}`);
    expect(bomb.code).not.toBe(0);
    expect(bomb.stderr).toMatch(/can't fork/);
  });

  it('connects two containers on the bridge by IP, publishes a port to the lab, and isolates --network none', async () => {
    await tswarmOk(L(), 'm1', [
      'run',
      '-d',
      '--name',
      'srv',
      image,
      'sh',
      '-c',
      'ip -o -4 addr show eth0; echo hello-from-srv | nc -l -p 7000',
    ]);
    const addr = await waitFor(
      async () => /inet (172\.30\.[0-9.]+)\//.exec(await tswarmOk(L(), 'm1', ['container', 'logs', 'srv']))?.[1],
      { what: 'srv to print its address', timeoutMs: 10_000 },
    );
    const reply = await tswarmOk(L(), 'm1', ['run', '--rm', image, 'sh', '-c', `echo hi | nc -w 3 ${addr} 7000`]);
    show(`container -> ${addr}:7000 on the bridge: ${reply.trim()}`);
    expect(reply).toBe('hello-from-srv\n');

    await tswarmOk(L(), 'm1', [
      'container',
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      '8080:80',
      image,
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    const got = await waitFor(() => httpGetFrom(L(), 'w1', 'http://192.168.77.11:8080/etc/kept.txt'), {
      what: 'httpd on m1:8080 to answer w1',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    show(`w1 GET http://192.168.77.11:8080/etc/kept.txt -> ${got.status} ${JSON.stringify(got.body)}`);
    expect(got).toEqual({ status: 200, body: 'kept\n' });
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'web', 'srv']);

    // A stopped container lets go of its host port (as in Docker): another may publish it, and
    // a start attaches the first again, its port working again once it is free.
    await tswarmOk(L(), 'm1', ['run', '--name', 'was', '-p', '8090:80', image, 'true']);
    await tswarmOk(L(), 'm1', ['run', '-d', '--name', 'now', '-p', '8090:80', image, 'httpd', '-f', '-p', '80']);
    await waitFor(() => httpGetFrom(L(), 'w1', 'http://192.168.77.11:8090/etc/kept.txt'), {
      what: 'the second holder of 8090 to answer',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    // A port a running container holds is refused, naming that container (not its network's ID).
    const taken = await tswarm(L(), 'm1', ['run', '--rm', '-p', '8090:80', image, 'true']);
    expect(taken.stderr).toContain('host port 8090/tcp is already published by container now');
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'now', 'was']);
    await tswarmOk(L(), 'm1', ['run', '-d', '--name', 'again', '-p', '8091:80', image, 'httpd', '-f', '-p', '80']);
    await tswarmOk(L(), 'm1', ['container', 'stop', '-t', '0', 'again']);
    expect(await httpGetFrom(L(), 'w1', 'http://192.168.77.11:8091/etc/kept.txt', 500)).toBeUndefined();
    await tswarmOk(L(), 'm1', ['container', 'start', 'again']);
    const back = await waitFor(() => httpGetFrom(L(), 'w1', 'http://192.168.77.11:8091/etc/kept.txt'), {
      what: 'the restarted container to answer on 8091',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    show(`after stop and start, w1 GET :8091 -> ${back.status}`);
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'again']);
    // Nor does a created container hold one (Docker binds at start), or one whose start failed.
    await tswarmOk(L(), 'm1', [
      'container',
      'create',
      '--name',
      'made',
      '-p',
      '8092:80',
      image,
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    expect((await tswarm(L(), 'm1', ['run', '--name', 'failed', '-p', '8093:80', image, 'no-such-command'])).code).toBe(
      127,
    );
    await tswarmOk(L(), 'm1', [
      'run',
      '-d',
      '--name',
      'meanwhile',
      '-p',
      '8092:80',
      '-p',
      '8093:81',
      image,
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'meanwhile', 'failed']);
    await tswarmOk(L(), 'm1', ['container', 'start', 'made']);
    await waitFor(() => httpGetFrom(L(), 'w1', 'http://192.168.77.11:8092/etc/kept.txt'), {
      what: 'the created container, started, to answer on 8092',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    await tswarmOk(L(), 'm1', ['container', 'rm', '-f', 'made']);

    const links = await tswarmOk(L(), 'm1', ['run', '--rm', '--network', 'none', image, 'ip', '-o', 'link']);
    show(`--network none: ${links.trim()}`);
    expect(
      links
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]?.trim()),
    ).toEqual(['lo']);
  });

  it('keeps named-volume data across the container’s removal', async () => {
    await tswarmOk(L(), 'm1', [
      'run',
      '--name',
      'writer',
      '-v',
      'data1:/data',
      image,
      'sh',
      '-c',
      'echo persisted > /data/f',
    ]);
    await tswarmOk(L(), 'm1', ['container', 'rm', 'writer']);
    const read = await tswarmOk(L(), 'm1', ['run', '--rm', '-v', 'data1:/data', image, 'cat', '/data/f']);
    show(`the next container reads: ${read.trim()}`);
    expect(read).toBe('persisted\n');
    // Anonymous volumes (-v /path) go with a --rm container or rm -v; named ones stay, and prune
    // takes only anonymous ones unless --all (Docker 23).
    const volumes = async () => (await tswarmOk(L(), 'm1', ['volume', 'ls', '-q'])).split('\n').filter(Boolean);
    await tswarmOk(L(), 'm1', ['run', '--rm', '-v', '/scratch', image, 'sh', '-c', 'echo x > /scratch/f']);
    expect(await volumes()).toEqual(['data1']);
    await tswarmOk(L(), 'm1', ['run', '--name', 'anon', '-v', '/scratch', image, 'true']);
    const anonymous = (await volumes()).filter((v) => v !== 'data1');
    expect(anonymous).toHaveLength(1);
    await tswarmOk(L(), 'm1', ['container', 'rm', 'anon']);
    expect(await tswarmOk(L(), 'm1', ['volume', 'prune'])).toContain(anonymous[0]!);
    expect(await volumes()).toEqual(['data1']);
    await tswarmOk(L(), 'm1', ['volume', 'prune', '--all']);
    expect(await volumes()).toEqual([]);
    // A new volume mounted where the image has files starts with a copy of them (Docker's copy-up):
    // over /bin, the shell is still there.
    expect(await tswarmOk(L(), 'm1', ['run', '--rm', '-v', 'binvol:/bin', image, 'ls', '/bin/sh'])).toBe('/bin/sh\n');
    await tswarmOk(L(), 'm1', ['volume', 'rm', 'binvol']);
  });

  it('creates, lists by filter, inspects and removes volumes as docker volume does', async () => {
    expect(await tswarmOk(L(), 'm1', ['volume', 'create', '--label', 'team=a', 'v1'])).toBe('v1\n');
    const anonymous = (await tswarmOk(L(), 'm1', ['volume', 'create'])).trim();
    expect(anonymous).toMatch(/^[0-9a-f]{64}$/);
    const ls = await tswarmOk(L(), 'm1', ['volume', 'ls']);
    expect(ls).toMatch(/^DRIVER\s+VOLUME NAME\n/);
    expect(ls).toMatch(/^local\s+v1$/m);
    expect(await tswarmOk(L(), 'm1', ['volume', 'ls', '-q', '-f', 'label=team=a'])).toBe('v1\n');
    expect(await tswarmOk(L(), 'm1', ['volume', 'ls', '-q', '-f', 'label=team=b'])).toBe('');
    expect(await tswarmOk(L(), 'm1', ['volume', 'ls', '-q', '-f', 'name=v', '-f', 'dangling=true'])).toBe('v1\n');
    const inspected = await tswarm(L(), 'm1', ['volume', 'inspect', 'v1', 'nope']);
    expect(inspected.code).toBe(1);
    expect(inspected.stderr).toMatch(/^Error: .*nope/);
    const [v] = JSON.parse(inspected.stdout) as Record<string, unknown>[];
    expect(v).toMatchObject({ Name: 'v1', Driver: 'local', Scope: 'local', Labels: { team: 'a' } });
    expect(String(v?.['Mountpoint'])).toMatch(/\/v1\/_data$/);
    expect(await tswarmOk(L(), 'm1', ['volume', 'rm', 'v1', anonymous])).toBe(`v1\n${anonymous}\n`);
    expect(await tswarmOk(L(), 'm1', ['volume', 'rm', '-f', 'v1'])).toBe('v1\n');
    expect((await tswarm(L(), 'm1', ['volume', 'rm', 'v1'])).code).toBe(1);
    expect(await tswarmOk(L(), 'm1', ['volume', 'ls', '-q'])).toBe('');
  });

  it("passes Ctrl-C on to an attached run's container (sig-proxy) and exits with its code", async () => {
    // The CLI in this namespace, talking to m1's daemon over its socket: the test signals that process.
    const cli = spawn(
      join(binDir(), 'tswarm'),
      [
        'run',
        '--name',
        'intr',
        '--network',
        'none',
        image,
        'sh',
        '-c',
        'trap "echo got INT; exit 5" INT; echo ready; while :; do sleep 0.1; done',
      ],
      {
        env: { ...process.env, ...L().env('m1') },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    followers.push(cli);
    const lines = collectLines(cli);
    const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    await waitFor(async () => lines.includes('ready'), {
      what: 'the container to start',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    cli.kill('SIGINT');
    expect(await exited).toBe(5);
    expect(lines).toContain('got INT');
    expect((await inspect(L(), 'm1', 'intr')).State.ExitCode).toBe(5);
    await tswarmOk(L(), 'm1', ['container', 'rm', 'intr']);
    // docker kill: the default is SIGKILL; -s names another.
    await tswarmOk(L(), 'm1', [
      'run',
      '-d',
      '--name',
      'killme',
      '--network',
      'none',
      image,
      'sh',
      '-c',
      'trap "exit 3" HUP; while :; do sleep 0.1; done',
    ]);
    await tswarmOk(L(), 'm1', ['container', 'kill', '-s', 'HUP', 'killme']);
    expect((await tswarmOk(L(), 'm1', ['container', 'wait', 'killme'])).trim()).toBe('3');
    await tswarmOk(L(), 'm1', ['container', 'rm', 'killme']);
  });

  it('follows logs; after kill -9 of tswarmd the container runs on, logs survive, the new daemon adopts and stops it', async () => {
    await tswarmOk(L(), 'm1', ['run', '--name', 'oneshot', image, 'echo', 'written-before-restart']);
    await tswarmOk(L(), 'm1', [
      'run',
      '-d',
      '--name',
      'talker',
      image,
      'sh',
      '-c',
      'i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done',
    ]);
    const follower = L().spawn('m1', ['tswarm', 'container', 'logs', '-f', 'talker'], ['ignore', 'pipe', 'inherit']);
    followers.push(follower);
    const lines = collectLines(follower);
    // Following means lines keep arriving after the command started, not one snapshot.
    await waitFor(() => lines.length >= 8, { what: 'logs -f to stream 8 lines', timeoutMs: 15_000 });
    expect(lines.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => `line-${i}`));
    follower.kill('SIGTERM');

    const talker = await inspect(L(), 'm1', 'talker');
    const pid = talker.State.Pid;
    await L().kill('m1');
    const linesAtKill = await logLineCountOnDisk(talker.LogPath);
    await waitFor(async () => (await logLineCountOnDisk(talker.LogPath)) >= linesAtKill + 3, {
      what: 'talker to keep logging with tswarmd dead',
      timeoutMs: 10_000,
    });
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    await L().start('m1');
    const ps = await tswarmOk(L(), 'm1', ['ps']);
    expect(ps).toMatch(/talker/);
    expect((await inspect(L(), 'm1', 'talker')).State).toMatchObject({ Status: 'running', Pid: pid });
    expect(await tswarmOk(L(), 'm1', ['container', 'logs', 'oneshot'])).toBe('written-before-restart\n');
    const talked = (await tswarmOk(L(), 'm1', ['container', 'logs', 'talker'])).split('\n').filter((l) => l !== '');
    show(
      `after restart: talker pid ${pid} running; ${talked.length} log lines (${linesAtKill} when tswarmd was killed)`,
    );
    expect(talked.length).toBeGreaterThan(linesAtKill);

    await tswarmOk(L(), 'm1', ['container', 'stop', '-t', '1', 'talker']);
    expect((await inspect(L(), 'm1', 'talker')).State.Status).toBe('exited');
    await waitFor(() => !existsSync(`/proc/${pid}`), { what: `talker's pid ${pid} to be gone`, timeoutMs: 5_000 });
  });

  it('refuses bad input with a clear error and leaves nothing half-made', async () => {
    const before = await snapshot('m1');
    const [badRef, badBind, noRegistry] = await Promise.all([
      tswarm(L(), 'm1', ['run', 'Bad::Ref', 'true']),
      tswarm(L(), 'm1', ['run', '--rm', '-v', '/nonexistent/tswarm-src:/data', image, 'true']),
      // .99 is no lab host: the pull fails inside the lab's network, after its retries.
      tswarm(L(), 'm1', ['pull', '192.168.77.99:5000/x:1'], 60_000),
    ]);
    for (const r of [badRef, badBind, noRegistry]) show(`exit ${r.code}: ${r.stderr.trim()}`);
    expect(badRef.code).toBe(125);
    expect(badRef.stderr).toMatch(/^Error: invalid image reference "Bad::Ref"/);
    expect(badBind.code).toBe(125);
    expect(badBind.stderr).toMatch(/^Error: bind mount source path does not exist: \/nonexistent\/tswarm-src/);
    expect(noRegistry.code).toBe(1);
    expect(noRegistry.stderr).toMatch(
      /^Error: cannot pull 192\.168\.77\.99:5000\/x:1: registry 192\.168\.77\.99:5000 is unreachable/,
    );
    expect(await snapshot('m1')).toEqual(before);
  });

  it('reports a corrupted layer blob clearly, makes nothing of it, and recovers by remove + pull', async () => {
    await tswarmOk(L(), 'w1', ['pull', image]);
    const images = join(engineDir(L(), 'w1'), 'images');
    // The image store's index maps each layer blob (digest) to its unpacked directory (diff ID).
    const index = JSON.parse(await readFile(join(images, 'images.json'), 'utf8')) as {
      images: Record<string, { layers: { digest: string; diffId: string; sizeBytes: number }[] }>;
    };
    const layer = Object.values(index.images)[0]!.layers.reduce((a, b) => (a.sizeBytes >= b.sizeBytes ? a : b));
    const hex = (d: string) => d.slice('sha256:'.length);
    // Damage the stored gzip blob in the middle and drop its unpacked copy, so the engine must use the blob.
    const fh = await open(join(images, 'blobs', 'sha256', hex(layer.digest)), 'r+');
    await fh.write(Buffer.from('CORRUPT'), 0, 7, Math.floor(layer.sizeBytes / 2));
    await fh.close();
    await rm(join(images, 'layers', hex(layer.diffId)), { recursive: true });
    const before = await snapshot('w1');
    const ran = await tswarm(L(), 'w1', ['run', '--rm', image, 'echo', 'should-not-run']);
    const pulled = await tswarm(L(), 'w1', ['pull', image]);
    show(
      `run on a corrupted layer: exit ${ran.code}: ${ran.stderr.trim()}\npull: exit ${pulled.code}: ${pulled.stderr.trim()}`,
    );
    expect(ran.code).toBe(125);
    expect(ran.stdout).not.toMatch(/should-not-run/);
    const damaged = new RegExp(
      `^Error: layer ${layer.digest} of ${image.replace(/\./g, '\\.')} is damaged on this node \\(.+\\)\\. Remove the image`,
    );
    expect(ran.stderr).toMatch(damaged);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toMatch(damaged);
    expect(await snapshot('w1')).toEqual(before);

    await tswarmOk(L(), 'w1', ['image', 'rm', image]);
    await tswarmOk(L(), 'w1', ['pull', image]);
    expect(await tswarmOk(L(), 'w1', ['run', '--rm', image, 'echo', 'recovered'])).toBe('recovered\n');
  });
});

/** Lines in a container's log file, read directly: this works while the daemon is dead. */
async function logLineCountOnDisk(logPath: string): Promise<number> {
  return (await readFile(logPath, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('line-')).length;
}

/** What a failed command must not leave behind: containers, volumes, images, temp layers, partial downloads. */
async function snapshot(host: string): Promise<Record<string, string[]>> {
  const images = join(engineDir(L(), host), 'images');
  return {
    containers: (await tswarmOk(L(), host, ['ps', '-a', '-q'])).split('\n').filter(Boolean).sort(),
    containerDirs: (await entries(join(engineDir(L(), host), 'containers'))).sort(),
    volumes: (await tswarmOk(L(), host, ['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort(),
    images: (await tswarmOk(L(), host, ['images', '-q'])).split('\n').filter(Boolean).sort(),
    layers: (await entries(join(images, 'layers'))).sort(),
    ingest: (await entries(join(images, 'ingest'))).sort(),
  };
}
