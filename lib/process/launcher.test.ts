import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../log.js';
import { Launcher } from './launcher.js';
import { run, runDetached, runMountCall, useCommandRunner } from './run.js';
import { mountFilesystem, unmountFilesystem } from './mount.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TswarmError } from '../errors.js';
import { waitFor } from '../poll.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./launcher-child.py', import.meta.url));

let launcher: Launcher | undefined;
afterEach(() => {
  useCommandRunner(undefined);
  launcher?.close();
  launcher = undefined;
});

/** The parent of the commands run() starts: the helper, or this process. */
async function parentPid(): Promise<number> {
  return Number((await run('sh', ['-c', 'echo $PPID'])).stdout.trim());
}

/** The helper's PID once it is ready (commands before that start from this process). */
function helperPid(): Promise<number> {
  return waitFor(
    async () => {
      const pid = await parentPid();
      return pid !== process.pid && pid;
    },
    { what: 'the launcher helper', timeoutMs: 10_000, intervalMs: 10 },
  );
}

async function installLauncher(): Promise<Launcher> {
  launcher = new Launcher(silentLogger(), { childScript: CHILD_SCRIPT });
  useCommandRunner(launcher);
  await helperPid();
  return launcher;
}

describe('commands through the launcher', () => {
  it('runs commands from its own small process, with input, exit codes and both outputs', async () => {
    await installLauncher();
    const pid = await parentPid();
    expect(pid).not.toBe(process.pid);
    expect(await parentPid()).toBe(pid); // one helper for every command
    const res = await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'from stdin', allowFailure: true });
    expect(res).toEqual({ code: 3, signal: null, stdout: 'from stdin', stderr: 'err\n' });
    await expect(run('sh', ['-c', 'echo no >&2; exit 1'])).rejects.toThrow(/exited with 1: no/);
    expect(
      (
        await run('sh', ['-c', 'echo $TSWARM_T; pwd'], {
          env: { TSWARM_T: 'set', PATH: process.env['PATH'] },
          cwd: '/tmp',
        })
      ).stdout,
    ).toBe('set\n/tmp\n');
  });

  it('passes a large input, keeps output to its bound, and runs many commands at once', async () => {
    await installLauncher();
    const input = Buffer.alloc(3 * 1024 * 1024, 'i'); // far more than a pipe holds: written as read
    expect((await run('wc', ['-c'], { input })).stdout.trim()).toBe(String(input.length));
    // 6 MiB printed, 4 MiB (and at most one read more) kept.
    const big = await run('head', ['-c', String(6 * 1024 * 1024), '/dev/zero']);
    expect(big.stdout.length).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(big.stdout.length).toBeLessThan(4 * 1024 * 1024 + 128 * 1024);
    const many = await Promise.all(Array.from({ length: 64 }, (_, i) => run('sh', ['-c', `echo ${i}`])));
    expect(many.map((r) => r.stdout)).toEqual(Array.from({ length: 64 }, (_, i) => `${i}\n`));
    // A working directory that does not exist: the command cannot start, as from Node.
    await expect(run('pwd', [], { cwd: '/nonexistent/dir' })).rejects.toMatchObject({ code: 'UNSUPPORTED_HOST' });
  });

  it('answers at the deadline even when something the command started holds its output open', async () => {
    await installLauncher();
    const res = await run('sh', ['-c', 'sleep 30 & echo started'], { timeoutMs: 300, allowFailure: true });
    expect(res.stdout).toBe('started\n');
    expect(res.code).toBe(0);
  });

  it('keeps deadlines and says when a command is not installed', async () => {
    await installLauncher();
    await expect(run('sleep', ['5'], { timeoutMs: 100 })).rejects.toThrow(
      /within its deadline \(100 ms\) and was killed/,
    );
    // A SIGKILL that is not our deadline's (an OOM kill, an operator's kill -9) is not called one.
    await expect(run('sh', ['-c', 'kill -9 $$'], { timeoutMs: 10_000 })).rejects.toThrow(
      /sh -c kill -9 \$\$ was killed by SIGKILL$/,
    );
    await expect(run('tswarm-no-such-command', [])).rejects.toMatchObject({
      code: 'UNSUPPORTED_HOST',
      message: expect.stringMatching(/not installed/),
    });
  });

  it('reports a command lost with its helper, never runs it twice, and starts a new helper', async () => {
    await installLauncher();
    const first = await parentPid();
    const inFlight = run('sh', ['-c', 'sleep 5']);
    process.kill(first, 'SIGKILL');
    const err = await inFlight.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TswarmError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/whether it ran is unknown/) });
    const second = await helperPid();
    expect(second).not.toBe(first);
    expect(second).not.toBe(process.pid);
  });

  it('starts a detached monitor (as conmon): returns its fd 3 report at once and leaves it running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-detach-'));
    const started: number[] = [];
    try {
      for (const through of ['launcher', 'this process'] as const) {
        if (through === 'launcher') await installLauncher();
        else useCommandRunner(undefined);
        const options = {
          cwd: dir,
          env: { PATH: process.env['PATH'] },
          outputPath: join(dir, 'out.log'),
          timeoutMs: 10_000,
        };
        // Reports its PID and its working directory's name, writes to stdout, and stays.
        const r = await runDetached(
          'sh',
          ['-c', 'echo "{\\"data\\": $$}" >&3; echo to-the-log; exec sleep 30'],
          options,
        );
        expect(r).toMatchObject({ outcome: 'reported' });
        const pid = (JSON.parse((r as { report: string }).report) as { data: number }).data;
        started.push(pid);
        expect(() => process.kill(pid, 0)).not.toThrow(); // still running
        await waitFor(async () => (await readFile(options.outputPath, 'utf8')).includes('to-the-log'), {
          what: 'its output in the log',
          timeoutMs: 5_000,
          intervalMs: 20,
        });
        const silent = await runDetached('sh', ['-c', 'exit 0'], options);
        expect(silent).toEqual({ report: '', outcome: 'ended' });
        expect(await runDetached('tswarm-no-such-monitor', [], options)).toMatchObject({
          spawnError: { code: 'ENOENT' },
        });
      }
    } finally {
      for (const pid of started) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('mounts and unmounts by system calls in the helper, with the errno of a failure, and falls back to mount(8) without it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tswarm-launcher-mount-'));
    const mounted = async (target: string) =>
      (await readFile('/proc/self/mounts', 'utf8')).split('\n').some((l) => l.split(' ')[1] === target);
    try {
      for (const withHelper of [true, false]) {
        if (withHelper) await installLauncher();
        else useCommandRunner(undefined);
        // Without the helper there is no mount call to make: mount.ts runs the commands.
        const probe = runMountCall({ kind: 'umount', target: dir, flags: 0 }, 1_000);
        expect(probe === undefined).toBe(!withHelper);
        expect(await probe).toMatchObject(withHelper ? { errno: 22 } : {}); // EINVAL: nothing mounted there
        await mountFilesystem('tmpfs', 'tmpfs', dir, 'size=1m,mode=0700', 10_000);
        expect(await mounted(dir)).toBe(true);
        expect(await unmountFilesystem(dir, false, 10_000)).toBe(true);
        expect(await mounted(dir)).toBe(false);
        await expect(mountFilesystem('tmpfs', 'tmpfs', join(dir, 'missing'), 'size=1m', 10_000)).rejects.toThrow(
          withHelper ? /cannot mount tmpfs on .*missing: No such file or directory/ : /mount/,
        );
        expect(await unmountFilesystem(dir, false, 10_000)).toBe(false); // not mounted: EINVAL
      }
    } finally {
      await unmountFilesystem(dir, true, 10_000).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('after close, or when no helper can start, commands start from this process', async () => {
    (await installLauncher()).close();
    expect(await parentPid()).toBe(process.pid);
    launcher = new Launcher(silentLogger(), { childScript: '/nonexistent/launcher-child.py' });
    useCommandRunner(launcher);
    for (let i = 0; i < 10; i++) expect(await parentPid()).toBe(process.pid);
  });
});
