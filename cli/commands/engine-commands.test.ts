import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { waitFor } from '../../lib/poll.js';
import { makeArchive } from '../../engine/image/testing/test-images.js';
import { settlesWithin } from '../../engine/testing/bounded.js';
import { registerImage } from './image.js';
import { registerContainer } from './container.js';
import { registerVolume } from './volume.js';
import { registerLogin } from './login.js';
import { registerSystem } from './system.js';
import { ApiClient } from '../../lib/api-client/client.js';
import { demux } from '../../lib/api-client/demux.js';
import { runCli, startEngineApi, type CliResult, type EngineApi } from './testing/engine-api.js';

/**
 * The engine's commands of tswarm's CLI, end to end on one machine: a real engine (crun, a local
 * registry) behind the Engine API server on a Unix socket, as tswarmd serves them, driven by the
 * CLI's own command code. The cluster tests do the same through a built daemon on lab hosts.
 */
let api: EngineApi;
let host: string;
let ref: string;
let archive: string;

beforeAll(async () => {
  api = await startEngineApi();
  host = api.host;
  ref = api.ref;
  archive = join(api.dir, 'image.tar');
  await makeArchive(api.layout, 'bb', 'docker', archive, 'loaded/busybox:1');
}, 60_000);

afterAll(async () => {
  await api?.stop();
}, 60_000);

/** The CLI's engine commands in a program of their own (program.ts registers them for real). */
function cli(...argv: string[]): Promise<CliResult> {
  return runCli(host, [registerImage, registerContainer, registerVolume, registerLogin, registerSystem], argv);
}

describe("the CLI's engine commands on the Engine API", () => {
  it("pulls with layer progress and Docker's closing lines", async () => {
    const r = await cli('pull', ref);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/[0-9a-f]{12}: Pull complete/);
    expect(r.out).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(r.out).toContain(`Status: Downloaded newer image for ${ref}`);
    expect((await cli('pull', ref)).out).toContain(`Status: Image is up to date for ${ref}`);
  });

  it('runs a container: output streamed, the container’s exit code, removed with --rm', async () => {
    const r = await cli('run', '--rm', '--network', 'none', ref, 'sh', '-c', 'echo hello; exit 3');
    expect([r.code, r.out]).toEqual([3, 'hello\n']);
    expect((await cli('ps', '-a', '-q')).out).toBe('');
  });

  it("passes a container's output through as the bytes it wrote: run, logs and exec (binary is not text)", async () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x78, 0x0a]);
    const printf = 'printf "\\377\\376\\000x\\n"';
    const run = await cli('run', '-d', '--name', 'bin', '--network', 'none', ref, 'sh', '-c', `${printf}; sleep 30`);
    expect(run.code).toBe(0);
    const attached = await cli('run', '--rm', '--network', 'none', ref, 'sh', '-c', printf);
    expect(attached.outBytes).toEqual(binary);
    await waitFor(async () => (await cli('container', 'logs', 'bin')).outBytes.equals(binary), {
      what: 'the binary line in the log',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect((await cli('container', 'exec', 'bin', '--', 'sh', '-c', printf)).outBytes).toEqual(binary);
    expect((await cli('container', 'rm', '-f', 'bin')).code).toBe(0);
  });

  it('runs with no-new-privileges when --security-opt asks for it, and not otherwise', async () => {
    const nnp = (...flags: string[]) =>
      cli('run', '--rm', '--network', 'none', ...flags, ref, 'cat', '/proc/self/status');
    expect((await nnp('--security-opt', 'no-new-privileges')).out).toContain('NoNewPrivs:\t1\n');
    expect((await nnp()).out).toContain('NoNewPrivs:\t0\n');
  });

  it('exits 127 for a missing command, 125 for an engine error and for a bad flag, as docker run does', async () => {
    expect((await cli('run', '--rm', '--network', 'none', ref, '/no/such/command')).code).toBe(127);
    expect((await cli('run', '--network', 'none', `${api.registry.host}/test/absent:1`)).code).toBe(125);
    const bad = await cli('run', '-m', 'lots', ref);
    expect(bad.code).toBe(125);
    expect(bad.err).toContain('invalid size "lots"');
  });

  it('follows logs until the container exits', async () => {
    const started = await cli(
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      'follower',
      ref,
      'sh',
      '-c',
      'echo a; sleep 1; echo b',
    );
    expect(started.code).toBe(0);
    const id = started.out.trim();
    const logs = await settlesWithin(
      cli('container', 'logs', '-f', id),
      10_000,
      'logs -f to end when the container exits',
    );
    expect([logs.code, logs.out]).toEqual([0, 'a\nb\n']);
    expect((await cli('container', 'wait', 'follower')).out).toBe('0\n');
    expect((await cli('container', 'logs', '--tail', '1', 'follower')).out).toBe('b\n');
    expect((await cli('container', 'logs', '--tail', '0', 'follower')).out).toBe('');
    // An API client that sets no tail gets the whole log, as docker logs does.
    const api = new ApiClient(host);
    try {
      const res = await api.request('GET', `/containers/${id}/logs`, { query: { stdout: 1, stderr: 1 } });
      const frames: string[] = [];
      for await (const f of demux(res)) frames.push(`${f.stream}:${f.data.toString()}`);
      expect(frames).toEqual(['stdout:a\n', 'stdout:b\n']);
    } finally {
      api.close();
    }
    expect((await cli('container', 'rm', 'follower')).code).toBe(0);
  });

  it('execs in a running container with the command’s exit code, and shows its CPU, memory and pids', async () => {
    const started = await cli(
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      'busy',
      '--memory',
      '64m',
      ref,
      'sh',
      '-c',
      'while :; do :; done',
    );
    expect(started.code).toBe(0);
    const hostname = started.out.trim().slice(0, 12);
    const e = await cli('container', 'exec', 'busy', '--', 'sh', '-c', 'echo in $(hostname); exit 4');
    expect([e.code, e.out]).toEqual([4, `in ${hostname}\n`]);
    expect((await cli('container', 'exec', 'busy', '--', '/no/such/command')).code).toBe(127);
    const json = await cli('container', 'stats', '--no-stream', '-f', 'json', 'busy');
    // Docker's stats, as GET /containers/{id}/stats answers.
    const [stat] = JSON.parse(json.out) as {
      name: string;
      cpu_stats: { cpu_usage: { total_usage: number } };
      memory_stats: { usage: number; limit: number };
      pids_stats: { current: number };
    }[];
    expect(stat).toMatchObject({ name: '/busy', memory_stats: { limit: 64 * 1024 * 1024 } });
    expect(stat!.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
    expect(stat!.memory_stats.usage).toBeGreaterThan(0);
    expect(stat!.pids_stats.current).toBeGreaterThanOrEqual(1);
    const table = await cli('container', 'stats', '--no-stream', 'busy');
    expect(table.out).toMatch(
      /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS\n\S{12}\s+busy\s+\d+\.\d\d%\s+\S+ \/ 64MiB\s+\d+\.\d\d%\s+\d+\n$/,
    );
    // ps filters go to the daemon in Docker's filters parameter; it refuses what it does not know.
    expect((await cli('ps', '-q', '--filter', 'name=^busy$', '--filter', 'status=running')).out).toBe(`${hostname}\n`);
    expect((await cli('ps', '-q', '--filter', 'status=exited', '--filter', 'name=^busy$')).out).toBe('');
    const typo = await cli('ps', '--filter', 'status=up');
    expect([typo.code, typo.err]).toEqual([1, expect.stringContaining("invalid filter 'status=up'")]);
    const startedAt = async () =>
      (JSON.parse((await cli('container', 'inspect', 'busy')).out) as { State: { StartedAt: string } }[])[0]!.State
        .StartedAt;
    const before = await startedAt();
    expect(await cli('container', 'restart', '-t', '0', 'busy')).toMatchObject({ code: 0, out: 'busy\n' });
    expect(await startedAt()).not.toBe(before);
    expect((await cli('container', 'rm', '-f', 'busy')).code).toBe(0);
    const gone = await cli('container', 'exec', 'busy', '--', 'true');
    expect([gone.code, gone.err]).toEqual([1, 'Error: No such container: busy.\n']);
  });

  it('shows a container’s processes, renames it, and measures what it wrote (top, rename, system df)', async () => {
    const started = await cli('run', '-d', '--network', 'none', '--name', 'sleeper', ref, 'sleep', '300');
    expect(started.code, started.err).toBe(0);
    const id = started.out.trim();
    expect((await cli('exec', 'sleeper', 'sh', '-c', 'head -c 100000 /dev/zero > /blob')).code).toBe(0);
    const top = await cli('top', 'sleeper');
    expect(top.out).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n\S+\s+\d+\s+\d+.*sleep 300\n$/);
    expect((await cli('container', 'top', 'sleeper', '-o', 'pid,comm')).out).toMatch(/^PID\s+COMMAND\n\d+\s+sleep\n$/);
    expect(await cli('rename', 'sleeper', 'sleeper-2')).toMatchObject({ code: 0, out: '' });
    expect((await cli('ps', '-q', '--filter', 'name=^sleeper-2$')).out).toBe(`${id.slice(0, 12)}\n`);
    expect((await cli('top', 'sleeper')).err).toBe('Error: No such container: sleeper.\n');
    const df = JSON.parse((await cli('system', 'df', '--format', 'json')).out) as {
      LayersSize: number;
      Images: { Containers: number; Size: number }[];
      Containers: { Names: string[]; SizeRw: number; SizeRootFs: number }[];
      Volumes: unknown[];
    };
    expect(df.LayersSize).toBeGreaterThan(100_000);
    expect(df.Images.some((i) => i.Containers >= 1 && i.Size > 0)).toBe(true);
    const mine = df.Containers.find((c) => c.Names[0] === '/sleeper-2')!;
    expect(mine.SizeRw).toBeGreaterThanOrEqual(100_000);
    expect(mine.SizeRootFs).toBeGreaterThan(mine.SizeRw);
    expect(df.Volumes).toEqual([]);
    expect((await cli('system', 'df')).out).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+\d+\s+1\s/);
    expect((await cli('container', 'rm', '-f', 'sleeper-2')).code).toBe(0);
  });

  it('loads a docker-archive streamed from the CLI', async () => {
    const r = await cli('image', 'load', '-i', archive);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Loaded image: loaded/busybox:1\n');
    const list = JSON.parse((await cli('images', '--format', 'json')).out) as { RepoTags: string[] }[];
    expect(list.flatMap((i) => i.RepoTags)).toContain('loaded/busybox:1');
  });

  it('refuses to remove an image a container uses, with the error’s own message and exit 1', async () => {
    const created = await cli('container', 'create', '--network', 'none', 'loaded/busybox:1', 'true');
    expect(created.code, created.err).toBe(0);
    const id = created.out.trim();
    // The loaded image is the pulled one under a second tag: removing one of two tags only untags.
    expect((await cli('image', 'rm', 'loaded/busybox:1')).out).toBe('Untagged: loaded/busybox:1\n');
    const refused = await cli('image', 'rm', ref);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^Error: .*used by container \S+\. Remove the container first/);
    expect((await cli('container', 'rm', id)).code).toBe(0);
    expect((await cli('image', 'rm', ref)).out).toMatch(/^Untagged: .*\nDeleted: sha256:/);
  });

  it('validates requests and says what to do', async () => {
    const r = await cli('container', 'inspect', 'no-such-container');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual([]); // as docker inspect
    expect(r.err).toBe('Error: No such container: no-such-container.\n');
    const v = await cli('volume', 'ls');
    expect(v.code).toBe(1);
    expect(v.err).toContain('volumes are not available on this node');
    const n = await cli('run', '--name', 'bad name!', '--network', 'none', ref);
    expect(n.code).toBe(125);
    // Docker's inspect of several names: the found ones are shown, the command still fails.
    expect((await cli('container', 'create', '--name', 'insp', '--network', 'none', ref, 'true')).code).toBe(0);
    const some = await cli('container', 'inspect', 'insp', 'no-such-container');
    expect(some.code).toBe(1);
    // Docker's inspect shape, as GET /containers/{id}/json answers.
    expect((JSON.parse(some.out) as { Name: string }[]).map((c) => c.Name)).toEqual(['/insp']);
    expect(some.err).toBe('Error: No such container: no-such-container.\n');
    expect((await cli('container', 'rm', 'insp')).code).toBe(0);
    const tooLong = await cli('image', 'inspect', 'x'.repeat(600));
    expect(tooLong.err).toContain('the image reference is longer than 512 characters');
  });
});
