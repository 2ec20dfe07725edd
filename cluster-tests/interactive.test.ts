import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { waitFor } from '../lib/poll.js';
import { DOCKER_CLI, docker, dockerOk, socketOf } from './support/docker.js';
import { show, tswarmOk } from './support/engine.js';
import { PtySession } from './support/pty-session.js';

/**
 * Terminals and streams over hijacked connections, driven by the real docker CLI: exec output
 * streamed as it is written with no size cap, stdin, -e/-w/-u, and `exec -it` at a real
 * pseudo-terminal (a prompt, a command's output, a window resize seen by `stty size`, Ctrl-C
 * reaching the container, `exit 3` ending the client with 3).
 */
/** This checkout's tswarm CLI, run from the test's namespace against the host's socket (TSWARM_HOST). */
const TSWARM_CLI = fileURLToPath(new URL('../bin/tswarm', import.meta.url));
const name = `ia${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
let image = '';
const L = () => lab as Lab;
const HOST = 'm1';

function dockerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: `unix://${socketOf(L(), HOST)}`, DOCKER_CONFIG: '/nonexistent-tswarm-test' };
}

/** `docker ARGS`' stdout hashed as it streams (20 MiB never held as one string), and its exit code. */
function dockerHashed(args: readonly string[]): Promise<{ code: number | null; sha256: string; bytes: number }> {
  const child = spawn(DOCKER_CLI, args, { env: dockerEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const hash = createHash('sha256');
  let bytes = 0;
  child.stdout.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, sha256: hash.digest('hex'), bytes })));
}

/** `stty size` inside says `size` (the resize travels client → daemon → terminal; asked until it does). */
async function expectSize(term: PtySession, size: string): Promise<void> {
  await waitFor(
    async () => {
      const m = term.text.length;
      term.type('stty size\r');
      try {
        await term.expect(/\d+ \d+\r*\n/, { from: m, timeoutMs: 5_000 });
      } catch {
        return false;
      }
      return term.text.slice(m).includes(size);
    },
    { what: `stty size to say ${size}`, timeoutMs: 30_000, intervalMs: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the terminal showed:\n${JSON.stringify(term.text.slice(-600))}`);
  });
}

/**
 * Types `line` until the shell's answer matches `pattern`: an attach joins a shell whose prompt
 * was printed before it, so the first line typed may come before the input is connected.
 */
async function answers(term: PtySession, line: string, pattern: RegExp): Promise<void> {
  await waitFor(
    async () => {
      const m = term.text.length;
      term.type(`${line}\r`);
      try {
        await term.expect(pattern, { from: m, timeoutMs: 3_000 });
        return true;
      } catch {
        return false;
      }
    },
    { what: `the shell to answer ${line}`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

describe('interactive terminals and streamed exec on a lab host', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 0, registry: true, logLevel: 'warn' });
    image = lab.requireRegistry().image;
    await tswarmOk(L(), HOST, ['pull', image]);
    await dockerOk(L(), HOST, ['run', '-d', '--name', 'box', image, 'sleep', '100000']);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('docker exec: 20 MiB arrive whole and in order, and output arrives as it is written', async () => {
    // seq 1..2,900,000 is 20.6 MB of numbered lines: any loss, duplicate or reordering changes the hash.
    const local = createHash('sha256');
    for (let i = 1; i <= 2_900_000; i += 100_000) {
      const lines: string[] = [];
      for (let j = i; j < i + 100_000 && j <= 2_900_000; j++) lines.push(`${j}\n`);
      local.update(lines.join(''));
    }
    const started = Date.now();
    const r = await dockerHashed(['exec', 'box', 'seq', '1', '2900000']);
    show(`docker exec seq 1 2900000 -> ${r.code}, ${r.bytes} bytes in ${Date.now() - started} ms`);
    expect(r.code).toBe(0);
    expect(r.bytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(r.sha256).toBe(local.digest('hex'));

    // The first line must reach the client while the command still waits for a file only a
    // second exec creates: the output is not held until the command ends.
    const child = spawn(
      DOCKER_CLI,
      ['exec', 'box', 'sh', '-c', 'echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second'],
      { env: dockerEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await waitFor(() => out === 'first\n', { what: '"first" before the command ends', timeoutMs: 30_000 });
    await dockerOk(L(), HOST, ['exec', 'box', 'sh', '-c', ': > /tmp/go']);
    expect(await closed).toBe(0);
    expect(out).toBe('first\nsecond\n');
  });

  it('docker exec -i, -e, -w, -u: stdin reaches the command, which runs where and as asked', async () => {
    const piped = await docker(L(), HOST, ['exec', '-i', 'box', 'sh', '-c', 'tr a-z A-Z; echo "exit after eof"'], {
      input: 'hello stdin\n',
    });
    expect(piped).toMatchObject({ code: 0, stdout: 'HELLO STDIN\nexit after eof\n' });

    const env = await docker(L(), HOST, [
      'exec',
      '-e',
      'GREETING=hi there',
      '-w',
      '/tmp',
      '-u',
      '1000:1000',
      'box',
      'sh',
      '-c',
      'echo "$GREETING|$(pwd)|$(id -u):$(id -g)"; echo err >&2; exit 4',
    ]);
    show(`docker exec -e -w -u -> ${env.code} ${JSON.stringify(env.stdout)} ${JSON.stringify(env.stderr)}`);
    expect(env).toMatchObject({ code: 4, stdout: 'hi there|/tmp|1000:1000\n', stderr: 'err\n' });

    const badUser = await docker(L(), HOST, ['exec', '-u', 'nosuchuser', 'box', 'true']);
    expect(badUser.code).not.toBe(0);
    expect(badUser.stderr).toMatch(/nosuchuser/);
    const missing = await docker(L(), HOST, ['exec', 'box', '/no/such/cmd']);
    expect(missing.code).toBe(127);
  });

  it('docker exec -it at a terminal: prompt, output, resize, Ctrl-C, exit 3', async () => {
    const term = new PtySession(`${DOCKER_CLI} exec -it box sh`, dockerEnv(), 24, 80);
    try {
      await term.expect(/# /);
      let mark = term.text.length;
      term.type('echo "sum=$((40+2))"\r');
      await term.expect(/sum=42/, { from: mark });

      mark = term.text.length;
      term.type('stty size\r');
      await term.expect(/24 80/, { from: mark });

      // A window change: the CLI sees SIGWINCH and resizes the exec's terminal.
      await term.resize(33, 111);
      await expectSize(term, '33 111');

      // Ctrl-C reaches the foreground job inside, not the client.
      mark = term.text.length;
      term.type('sleep 1000\r');
      await term.expect(/sleep 1000/, { from: mark });
      term.type('\x03');
      mark = term.text.length;
      term.type('echo "after=$((6*7))"\r');
      await term.expect(/after=42/, { from: mark });

      term.type('exit 3\r');
      expect(await term.exitCode()).toBe(3);
      show(`docker exec -it session:\n${term.text}`);
    } finally {
      term.kill();
    }
  });

  it('docker run -it at a terminal: prompt, output, resize, exit 3; the TTY output kept in the log', async () => {
    const term = new PtySession(`${DOCKER_CLI} run -it --name tty1 ${image} sh`, dockerEnv(), 24, 80);
    try {
      await term.expect(/# /);
      let mark = term.text.length;
      term.type('echo "run=$((40+2))"\r');
      await term.expect(/run=42/, { from: mark });
      mark = term.text.length;
      term.type('stty size\r');
      await term.expect(/24 80/, { from: mark });
      await term.resize(40, 100);
      await expectSize(term, '40 100');
      term.type('exit 3\r');
      expect(await term.exitCode()).toBe(3);
    } finally {
      term.kill();
    }
    expect(
      await dockerOk(L(), HOST, [
        'inspect',
        '-f',
        '{{.State.Status}} {{.State.ExitCode}} {{.Config.Tty}} {{.Config.OpenStdin}}',
        'tty1',
      ]),
    ).toBe('exited 3 true true\n');
    // As Docker keeps a TTY container's log: the terminal's bytes, \r\n and all.
    expect(await dockerOk(L(), HOST, ['logs', 'tty1'])).toMatch(/run=42\r\n/);
  });

  it('docker attach, then Ctrl-P Ctrl-Q: the client leaves and the container keeps running', async () => {
    await dockerOk(L(), HOST, ['run', '-dit', '--name', 'tty2', image, 'sh']);
    const term = new PtySession(`${DOCKER_CLI} attach tty2`, dockerEnv(), 24, 80);
    try {
      // The prompt was printed before the attach: a typed line shows the attach works.
      await answers(term, 'echo "attached=$((3*3))"', /attached=9/);
      term.type('\x10\x11');
      await term.exitCode();
      show(`docker attach then Ctrl-P Ctrl-Q:\n${term.text}`);
    } finally {
      term.kill();
    }
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'tty2'])).toBe('running\n');
    // Another attach (with its own detach keys) still reaches the same shell.
    const again = new PtySession(`${DOCKER_CLI} attach --detach-keys ctrl-x tty2`, dockerEnv(), 24, 80);
    try {
      await answers(again, 'echo "again=$((5*5))"', /again=25/);
      again.type('\x18');
      await again.exitCode();
    } finally {
      again.kill();
    }
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'tty2'])).toBe('running\n');
  });

  it('tswarm run -it, exec -it and attach at a terminal: the same, with tswarm’s own CLI', async () => {
    const env = { ...process.env, ...L().env(HOST) };
    const run = new PtySession(`${TSWARM_CLI} run -it --name tty3 ${image} sh`, env, 24, 80);
    try {
      await run.expect(/# /);
      const mark = run.text.length;
      run.type('echo "tswarm=$((40+2))"\r');
      await run.expect(/tswarm=42/, { from: mark });
      await run.resize(30, 90);
      await expectSize(run, '30 90');
      run.type('exit 3\r');
      expect(await run.exitCode()).toBe(3);
    } finally {
      run.kill();
    }

    const exec = new PtySession(`${TSWARM_CLI} exec -it box sh`, env, 24, 80);
    try {
      await exec.expect(/# /);
      await expectSize(exec, '24 80');
      await exec.resize(50, 120);
      await expectSize(exec, '50 120');
      // Ctrl-C is a key in raw mode: it reaches the job inside, and the client stays.
      exec.type('sleep 1000\r');
      await exec.expect(/sleep 1000/);
      exec.type('\x03');
      const mark = exec.text.length;
      exec.type('echo "alive=$((6*7))"\r');
      await exec.expect(/alive=42/, { from: mark });
      exec.type('exit 3\r');
      expect(await exec.exitCode()).toBe(3);
    } finally {
      exec.kill();
    }

    await dockerOk(L(), HOST, ['run', '-dit', '--name', 'tty4', image, 'sh']);
    const attach = new PtySession(`${TSWARM_CLI} attach tty4`, env, 24, 80);
    try {
      await answers(attach, 'echo "tattached=$((3*3))"', /tattached=9/);
      attach.type('\x10\x11');
      expect(await attach.exitCode()).toBe(0);
    } finally {
      attach.kill();
    }
    expect(await dockerOk(L(), HOST, ['inspect', '-f', '{{.State.Status}}', 'tty4'])).toBe('running\n');
  });
});
