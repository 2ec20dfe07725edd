import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import { MountType } from '../../gen/tswarm/v1/objects.js';
import type { DeepPartial } from '../../gen/tswarm/v1/engine.js';
import type { ContainerSpec } from '../../gen/tswarm/v1/objects.js';
import type { ImageForRuntime } from '../image-contract.js';
import { ContainerRuntime, type LogRecord } from './runtime.js';
import { SECCOMP_BPF_ANNOTATION } from './seccomp-cache.js';
import { makeBusyboxImage } from './testing/busybox-rootfs.js';
import { makeTempDir, randomPrefix, removePrefixCgroups, removeTree } from '../testing/scratch.js';
import { settlesWithin, stillPendingAfter } from '../testing/bounded.js';
import { unmountTree } from './rootfs.js';
import { waitFor } from '../../lib/poll.js';
import { run } from '../../lib/process/run.js';

const prefix = randomPrefix();
let dir: string;
let image: ImageForRuntime;
let rt: ContainerRuntime;

beforeAll(async () => {
  dir = await makeTempDir('runtime');
  image = await makeBusyboxImage(join(dir, 'image'));
  rt = await ContainerRuntime.open({ root: join(dir, 'engine'), namePrefix: prefix, log: silentLogger() });
});

afterAll(async () => {
  if (rt) {
    for (const c of rt.list({ all: true })) await rt.remove(c.id, { force: true }).catch(() => undefined);
    rt.close();
  }
  await removePrefixCgroups(prefix);
  if (dir) {
    await unmountTree(dir);
    await removeTree(dir);
  }
});

async function runToEnd(spec: DeepPartial<ContainerSpec>, extra: { resources?: object } = {}) {
  const id = await rt.create({ config: { spec, ...extra }, image });
  await rt.start(id);
  const result = await rt.wait(id, { timeoutMs: 20_000 });
  return { id, result };
}

async function collect(iter: AsyncIterable<LogRecord>): Promise<string[]> {
  const lines: string[] = [];
  for await (const r of iter) lines.push(`${r.stream}:${r.data.toString().trimEnd()}`);
  return lines;
}

describe('ContainerRuntime with crun and conmon', () => {
  it('runs a command, keeps its exit code and its output', async () => {
    const { id, result } = await runToEnd({ command: ['sh', '-c', 'echo hello; echo oops >&2; exit 7'] });
    expect(result.exitCode).toBe(7);
    expect(await collect(rt.logs(id))).toEqual(['stdout:hello', 'stderr:oops']);
    expect(rt.inspect(id).container.state?.status).toBe('exited');
    await rt.remove(id);
    expect(() => rt.inspect(id)).toThrow(TswarmError);
  });

  it('applies env, working dir, user, groups and hostname', async () => {
    const { id, result } = await runToEnd({
      command: ['sh', '-c', 'echo $IMAGE_VAR $SPEC_VAR $HOME; pwd; id -u; id -G; hostname'],
      env: ['SPEC_VAR=spec', 'IMAGE_VAR=override'],
      dir: '/srv/work',
      user: 'app',
      hostname: 'box',
    });
    expect(result.exitCode).toBe(0);
    expect(await collect(rt.logs(id))).toEqual([
      'stdout:override spec /home/app',
      'stdout:/srv/work',
      'stdout:1000',
      'stdout:1000 50',
      'stdout:box',
    ]);
    await rt.remove(id);
  });

  it('stops a shell PID 1 that ignores TERM: grace period, then SIGKILL', async () => {
    const id = await rt.create({ config: { spec: { command: ['sh', '-c', 'sleep 60'] } }, image });
    await rt.start(id);
    const stopping = rt.stop(id, 500);
    // TERM alone does not end a shell PID 1: within the grace period it still runs, and stop waits.
    expect(await stillPendingAfter(stopping, 400)).toBe(true);
    expect(rt.inspect(id).container.state?.status).toBe('running');
    await stopping;
    expect((await rt.wait(id)).exitCode).toBe(137);
    await rt.remove(id);
  });

  // The default grace is 10 s; this test's own 5 s limit is what tells 0 from "unset".
  it(
    'a stop timeout of 0 kills at once after the stop signal (docker --stop-timeout 0)',
    { timeout: 5_000 },
    async () => {
      const id = await rt.create({
        config: { spec: { command: ['sh', '-c', 'sleep 60'], stopGracePeriodMs: 0 } },
        image,
      });
      await rt.start(id);
      await rt.stop(id);
      expect((await rt.wait(id)).exitCode).toBe(137);
      await rt.remove(id);
    },
  );

  it('init: true makes TERM stop the container at once', async () => {
    const id = await rt.create({ config: { spec: { command: ['sh', '-c', 'sleep 60'], init: true } }, image });
    await rt.start(id);
    // Well before the 10 s grace ends; 143 (not 137) says TERM ended it, not the kill after the grace.
    await settlesWithin(rt.stop(id, 10_000), 5_000, 'TERM to stop the container under init');
    expect((await rt.wait(id)).exitCode).toBe(143);
    await rt.remove(id);
  });

  it('reports an OOM kill under a memory limit', async () => {
    const { id, result } = await runToEnd(
      { command: ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'] },
      { resources: { limits: { memoryBytes: 32 * 1024 * 1024 } } },
    );
    expect(result).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(rt.inspect(id).container.state?.oomKilled).toBe(true);
    await rt.remove(id);
  });

  it('reports hitting the pids limit', async () => {
    const { id, result } = await runToEnd(
      { command: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait'] },
      { resources: { limits: { pids: 5 } } },
    );
    expect(result.pidsLimitHit).toBe(true);
    await rt.remove(id);
  });

  it('mounts a read-only rootfs', async () => {
    const { id } = await runToEnd({ command: ['sh', '-c', 'touch /x 2>&1; echo rc=$?'], readOnly: true });
    const lines = await collect(rt.logs(id));
    expect(lines.join('\n')).toMatch(/Read-only file system/);
    expect(lines).toContain('stdout:rc=1');
    await rt.remove(id);
  });

  it('refuses a bind mount whose source is missing, and leaves nothing behind', async () => {
    const missing = join(dir, 'no-such-dir');
    const create = rt.create({
      config: {
        spec: { command: ['true'], mounts: [{ type: MountType.MOUNT_TYPE_BIND, source: missing, target: '/data' }] },
      },
      image,
    });
    await expect(create).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(missing) });
    expect(rt.list({ all: true })).toHaveLength(0);
  });

  it('mounts tmpfs and bind mounts', async () => {
    const host = join(dir, 'bind');
    await mkdir(host, { recursive: true });
    const mounts = [
      { type: MountType.MOUNT_TYPE_TMPFS, target: '/scratch', tmpfsSizeBytes: 1024 * 1024 },
      { type: MountType.MOUNT_TYPE_BIND, source: host, target: '/data' },
    ];
    const { id, result } = await runToEnd({
      command: ['sh', '-c', 'df -k /scratch | tail -1 | awk "{print \\$2}"; echo written > /data/out.txt'],
      mounts,
    });
    expect(result.exitCode).toBe(0);
    expect(await collect(rt.logs(id))).toEqual(['stdout:1024']);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(host, 'out.txt'), 'utf8')).toBe('written\n');
    await rt.remove(id);
  });

  it('bind-mounts a host mount made after the runtime opened (the hybrid host pins its crun namespace at open)', async () => {
    const late = join(dir, 'late-mount');
    await mkdir(late, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'late', late]);
    try {
      await writeFile(join(late, 'marker'), 'from a late mount\n');
      const { id, result } = await runToEnd({
        command: ['cat', '/data/marker'],
        mounts: [{ type: MountType.MOUNT_TYPE_BIND, source: late, target: '/data' }],
      });
      expect(await collect(rt.logs(id))).toEqual(['stdout:from a late mount']);
      expect(result.exitCode).toBe(0);
      await rt.remove(id);
    } finally {
      await run('umount', [late]);
    }
  });

  it('follows logs until the container exits, and tails them', async () => {
    const id = await rt.create({
      config: { spec: { command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done'] } },
      image,
    });
    await rt.start(id);
    expect(await collect(rt.logs(id, { follow: true }))).toEqual([
      'stdout:line1',
      'stdout:line2',
      'stdout:line3',
      'stdout:line4',
      'stdout:line5',
    ]);
    expect(await collect(rt.logs(id, { tail: 2 }))).toEqual(['stdout:line4', 'stdout:line5']);
    await rt.remove(id);
  });

  it('keeps output that does not end in a newline, followed or read after the exit (printf hi)', async () => {
    const id = await rt.create({
      config: { spec: { command: ['sh', '-c', 'printf "a\\nhi"; printf oops >&2'] } },
      image,
    });
    await rt.start(id);
    const raw = async (iter: AsyncIterable<LogRecord>) => {
      const parts: string[] = [];
      for await (const r of iter) parts.push(`${r.stream}:${r.data.toString()}`);
      return parts.sort();
    };
    expect(await raw(rt.logs(id, { follow: true }))).toEqual(['stderr:oops', 'stdout:a\n', 'stdout:hi']);
    expect(await raw(rt.logs(id))).toEqual(['stderr:oops', 'stdout:a\n', 'stdout:hi']);
    await rt.remove(id);
  });

  it('mounts a parent before what goes under it: a volume at /etc keeps the generated /etc/hosts', async () => {
    const outer = join(dir, 'vol-outer');
    const inner = join(dir, 'vol-inner');
    await mkdir(outer, { recursive: true });
    await mkdir(inner, { recursive: true });
    // Given child first: mounted in that order, /x would cover /x/y.
    const mounts = [
      { type: MountType.MOUNT_TYPE_BIND, source: inner, target: '/x/y', readOnly: false },
      { type: MountType.MOUNT_TYPE_BIND, source: outer, target: '/x', readOnly: false },
      { type: MountType.MOUNT_TYPE_BIND, source: outer, target: '/etc', readOnly: false },
    ];
    const { id, result } = await runToEnd({
      command: [
        'sh',
        '-c',
        'echo hi > /x/y/f && cat /x/y/f && grep -q "127.0.0.1.*localhost" /etc/hosts && echo hosts-kept',
      ],
      mounts,
    });
    expect(result.exitCode).toBe(0);
    expect(await collect(rt.logs(id))).toEqual(['stdout:hi', 'stdout:hosts-kept']);
    await rt.remove(id);
  });

  it('gives a TTY container a pseudo-terminal as its stdio and logs what it writes there', async () => {
    const { id, result } = await runToEnd({ command: ['sh', '-c', '[ -t 0 ] && [ -t 1 ] && tty'], tty: true });
    expect(result.exitCode).toBe(0);
    // A terminal ends lines with CR LF; what the container printed is the terminal's name.
    expect((await collect(rt.logs(id))).map((l) => l.replace(/\r$/, ''))).toEqual([
      expect.stringMatching(/^stdout:\/dev\/(pts\/\d+|console)$/),
    ]);
    await rt.remove(id);
    const plain = await runToEnd({ command: ['sh', '-c', '[ -t 1 ] || echo no-tty'] });
    expect(await collect(rt.logs(plain.id))).toEqual(['stdout:no-tty']);
    await rt.remove(plain.id);
  });

  it('fills a new volume with the image content at its target, unless volume-nocopy', async () => {
    const listing: string[] = [];
    for (const noCopy of [false, true]) {
      const volume = join(dir, `vol-etc-${noCopy}`);
      await mkdir(volume, { recursive: true });
      const id = await rt.create({
        config: {
          spec: {
            command: ['ls', '/etc'],
            mounts: [{ type: MountType.MOUNT_TYPE_VOLUME, source: 'etcvol', target: '/etc', volumeNoCopy: noCopy }],
          },
        },
        image,
        volumePaths: { etcvol: volume },
      });
      listing.push((await readdir(volume)).includes('passwd') ? 'copied' : 'empty');
      await rt.remove(id);
    }
    expect(listing).toEqual(['copied', 'empty']);
  });

  it("writes the spec's DNS settings into the container's resolv.conf (--dns, --dns-search, --dns-option)", async () => {
    const { id } = await runToEnd({
      command: ['cat', '/etc/resolv.conf'],
      dnsNameservers: ['10.213.9.53'],
      dnsSearch: ['lab.test'],
      dnsOptions: ['ndots:2'],
    });
    const lines = (await collect(rt.logs(id))).filter((l) => !l.startsWith('stdout:#'));
    expect(lines).toEqual(['stdout:nameserver 10.213.9.53', 'stdout:search lab.test', 'stdout:options ndots:2']);
    await rt.remove(id);
  });

  it('gives the container loopback in its own netns and lets busybox nc work under seccomp', async () => {
    const { id, result } = await runToEnd({
      command: [
        'sh',
        '-c',
        // A bounded poll, not a fixed sleep: on a loaded machine the listener may be slow to bind
        // (up to 5 s); the runtime's wait bounds the rest.
        [
          // The listener sends, the client prints what it reads until the listener closes.
          'echo ping | nc -l -p 8080 &',
          // Connect once it listens (port 8080 is 1F90 in /proc/net/tcp, state 0A: LISTEN).
          "i=0; until grep -q ':1F90 00000000:0000 0A' /proc/net/tcp || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.05; done",
          'nc 127.0.0.1 8080 < /dev/null',
          'ls /sys/class/net; cat /sys/class/net/lo/flags',
        ].join('\n'),
      ],
    });
    const lines = await collect(rt.logs(id));
    expect(lines, lines.join('\n')).toContain('stdout:ping');
    // The namespace crun made holds loopback alone, and up (IFF_UP is flag 0x1).
    expect(lines).toContain('stdout:lo');
    const flags = Number(lines.at(-1)?.replace('stdout:', ''));
    expect(flags & 1, lines.join('\n')).toBe(1);
    expect(result.exitCode).toBe(0);
    await rt.remove(id);
  });

  it('compiles a seccomp profile once: later containers load the kept program, which still filters', async () => {
    // CAP_SYS_TIME gives this test a profile of its own, so no earlier container compiled it.
    const spec = {
      command: ['sh', '-c', 'unshare -U true; echo unshare=$?; grep "^Seccomp:" /proc/self/status'],
      capabilityAdd: ['CAP_SYS_TIME'],
    };
    const bundleConfig = async (id: string) =>
      JSON.parse(await readFile(join(dir, 'engine', 'containers', id, 'bundle', 'config.json'), 'utf8')) as {
        annotations?: Record<string, string>;
      };
    const cacheDir = join(dir, 'engine', 'seccomp');
    // A user namespace needs no capability, so only the filter refuses unshare(CLONE_NEWUSER)
    // (without it the command exits 0); mode 2 is SECCOMP_MODE_FILTER.
    const filtered = [
      'stderr:unshare: unshare(0x10000000): Operation not permitted',
      'stdout:unshare=1',
      'stdout:Seccomp:\t2',
    ];
    // Kept entries only: the cache writes NAME.bpf.tmp first.
    // stdout and stderr reach the log through two pipes: their order within a stream is kept,
    // their interleaving is not, so each stream is compared on its own.
    const byStream = (lines: string[]) => [
      lines.filter((l) => l.startsWith('stdout:')),
      lines.filter((l) => l.startsWith('stderr:')),
    ];
    const kept = async () => (await readdir(cacheDir)).filter((n) => n.endsWith('.bpf')).length;
    const before = await kept();
    const first = await runToEnd(spec);
    expect((await bundleConfig(first.id)).annotations?.[SECCOMP_BPF_ANNOTATION]).toBeUndefined();
    expect(byStream(await collect(rt.logs(first.id)))).toEqual(byStream(filtered));
    await rt.remove(first.id);
    await waitFor(async () => (await kept()) === before + 1, {
      timeoutMs: 10_000,
      what: 'the compiled filter in the cache',
    });

    const second = await runToEnd(spec);
    expect((await bundleConfig(second.id)).annotations?.[SECCOMP_BPF_ANNOTATION]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(byStream(await collect(rt.logs(second.id)))).toEqual(byStream(filtered));
    expect(second.result.exitCode).toBe(0);
    await rt.remove(second.id);
  });

  it('names are unique; running containers need force to be removed; unknown ones are NOT_FOUND', async () => {
    const id = await rt.create({ config: { name: 'web', spec: { command: ['sleep', '30'] } }, image });
    await expect(rt.create({ config: { name: 'web', spec: { command: ['true'] } }, image })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    await rt.start('web');
    expect(rt.list().map((c) => c.id)).toEqual([id]);
    await expect(rt.remove('web')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await rt.remove('web', { force: true });
    expect(() => rt.inspect('web')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    // Its directory is gone at once (renamed aside), and the renamed one is deleted soon after.
    const containers = join(dir, 'engine', 'containers');
    expect(await readdir(containers)).not.toContain(id);
    await waitFor(async () => !(await readdir(containers)).some((n) => n.includes(id)), {
      timeoutMs: 10_000,
      what: 'the removed container’s directory to be deleted',
    });
  });

  it('releases an ended container itself: its crun state and its cgroup are gone, without a crun delete', async () => {
    const exists = (path: string) =>
      access(path).then(
        () => true,
        () => false,
      );
    // The pids hierarchy on a v1 or hybrid host, else the v2 tree.
    const v1 = await exists('/sys/fs/cgroup/pids');
    const id = await rt.create({ config: { spec: { command: ['sh', '-c', 'sleep 0.2'] } }, image });
    const cgroup = join('/sys/fs/cgroup', ...(v1 ? ['pids'] : []), prefix, id);
    const state = join(dir, 'engine', 'crun', `${prefix}-${id}`);
    await rt.start(id);
    expect(await exists(cgroup)).toBe(true);
    expect(await exists(state)).toBe(true);
    expect((await rt.wait(id, { timeoutMs: 20_000 })).exitCode).toBe(0);
    await waitFor(async () => !(await exists(state)) && !(await exists(cgroup)), {
      timeoutMs: 10_000,
      what: `container ${id}'s crun state and cgroup to go`,
    });
    // Started again, it runs as before (nothing is left for the runtime to trip on).
    await rt.start(id);
    expect((await rt.wait(id, { timeoutMs: 20_000 })).exitCode).toBe(0);
    await rt.remove(id);
  });

  it('starts a container by crun’s exec FIFO, as crun start does: crun then reports it running', async () => {
    const id = await rt.create({ config: { spec: { command: ['sleep', '30'] } }, image });
    const runtimeName = `${prefix}-${id}`;
    const crun = (args: string[]) =>
      run('crun', [`--root=${join(dir, 'engine', 'crun')}`, ...args], { allowFailure: true });
    await rt.start(id);
    // On a hybrid cgroup host crun reads the state from the daemon's pinned namespace; the
    // state's status comes from the FIFO and the process, which every namespace sees alike.
    const state = await crun(['state', runtimeName]);
    if (state.code === 0) expect(JSON.parse(state.stdout)).toMatchObject({ status: 'running' });
    expect((await rt.exec(id, ['echo', 'up'], { timeoutMs: 10_000 })).stdout.toString()).toBe('up\n');
    await rt.remove(id, { force: true });
  });

  it('health checks make a container healthy, or unhealthy after the retries', async () => {
    const check = (test: string[]) => ({ test, intervalMs: 200, timeoutMs: 2_000, retries: 2, startPeriodMs: 0 });
    const good = await rt.create({
      config: {
        spec: {
          command: ['sh', '-c', 'touch /tmp/ready; sleep 30'],
          init: true,
          healthcheck: check(['CMD-SHELL', 'test -e /tmp/ready']),
        },
      },
      image,
    });
    const bad = await rt.create({
      config: { spec: { command: ['sleep', '30'], init: true, healthcheck: check(['CMD', 'false']) } },
      image,
    });
    await rt.start(good);
    await rt.start(bad);
    // Right after start it is 'starting', unless the first check already ran (a busy machine).
    expect(['starting', 'healthy']).toContain(rt.inspect(good).container.state?.health);
    await waitFor(() => rt.inspect(good).container.state?.health === 'healthy', { what: 'healthy', timeoutMs: 10_000 });
    await waitFor(() => rt.inspect(bad).container.state?.health === 'unhealthy', {
      what: 'unhealthy',
      timeoutMs: 10_000,
    });
    expect(rt.inspect(bad).healthLog.length).toBeGreaterThanOrEqual(2);
    await rt.remove(good, { force: true });
    await rt.remove(bad, { force: true });
  });

  it('caps the log file at logBytesMax and keeps reading it', async () => {
    const small = await ContainerRuntime.open({
      root: join(dir, 'engine-small-logs'),
      namePrefix: prefix,
      log: silentLogger(),
      logBytesMax: 4096,
    });
    try {
      const id = await small.create({
        config: { spec: { command: ['sh', '-c', 'for i in $(seq 1 400); do echo line$i; done'] } },
        image,
      });
      await small.start(id);
      await small.wait(id, { timeoutMs: 20_000 });
      const { stat } = await import('node:fs/promises');
      expect((await stat(small.inspect(id).logPath)).size).toBeLessThanOrEqual(4096 + 200);
      expect(await collect(small.logs(id, { tail: 1 }))).toEqual(['stdout:line400']);
      // The generation conmon replaced at the cap is kept: the log holds more than the live file,
      // in order, up to the last line.
      const live = (await readFile(small.inspect(id).logPath, 'utf8')).split('\n').filter(Boolean).length;
      const all = (await collect(small.logs(id))).map((l) => Number(l.replace('stdout:line', '')));
      expect(all.length).toBeGreaterThan(live);
      expect(all.at(-1)).toBe(400);
      expect(all.every((n, i) => i === 0 || n > all[i - 1]!)).toBe(true);
      await small.remove(id);
    } finally {
      small.close();
    }
  });

  it('starts an exited container again, appending to its log', async () => {
    const { id, result } = await runToEnd({ command: ['sh', '-c', 'echo run; exit 2'] });
    expect(result.exitCode).toBe(2);
    await rt.start(id);
    expect((await rt.wait(id, { timeoutMs: 20_000 })).exitCode).toBe(2);
    expect(await collect(rt.logs(id))).toEqual(['stdout:run', 'stdout:run']);
    await rt.remove(id);
  });

  it('execs in a running container without waiting on a background child', async () => {
    const id = await rt.create({ config: { spec: { command: ['sleep', '30'], init: true, env: ['WHO=me'] } }, image });
    await rt.start(id);
    const result = await settlesWithin(
      rt.exec(id, ['sh', '-c', 'echo $WHO; echo err >&2; sleep 20 & exit 4'], { timeoutMs: 5_000 }),
      4_000,
      'exec to return without waiting on its background child',
    );
    expect(result).toEqual({
      exitCode: 4,
      stdout: Buffer.from('me\n'),
      stderr: Buffer.from('err\n'),
      truncated: false,
    });
    const big = await rt.exec(id, ['sh', '-c', 'head -c 300 /dev/zero'], { timeoutMs: 5_000, outputBytesMax: 100 });
    expect([big.stdout.length, big.truncated]).toEqual([100, true]);
    await rt.remove(id, { force: true });
  });

  it('execs as the container’s user, with its groups, in its working directory (as Docker’s exec and health checks)', async () => {
    const id = await rt.create({
      config: {
        spec: { command: ['sleep', '30'], user: 'app', groups: ['root'], dir: '/srv/work', capabilityDrop: ['ALL'] },
      },
      image,
    });
    await rt.start(id);
    const r = await rt.exec(id, ['sh', '-c', 'id -u; id -G; pwd; grep CapEff /proc/self/status'], { timeoutMs: 5_000 });
    expect(r.stdout.toString().split('\n')).toEqual([
      '1000',
      '1000 0 50',
      '/srv/work',
      'CapEff:\t0000000000000000',
      '',
    ]);
    await rt.remove(id, { force: true });
  });

  it('kills a command that outlives its exec deadline, not only the runtime client (no hung health checks piling up)', async () => {
    const id = await rt.create({ config: { spec: { command: ['sleep', '60'], init: true } }, image });
    await rt.start(id);
    const hung = await rt.exec(id, ['sleep', '1234'], { timeoutMs: 300 });
    expect(hung.exitCode).toBe(-1);
    // Bounded wait: the kill is sent at the deadline; the process is reaped by the container's init.
    await waitFor(
      async () =>
        !(await rt.exec(id, ['ps', '-o', 'args'], { timeoutMs: 5_000 })).stdout.toString().includes('sleep 1234'),
      { what: 'the timed-out exec to be gone', timeoutMs: 5_000, intervalMs: 100 },
    );
    await rt.remove(id, { force: true });
  });
});
