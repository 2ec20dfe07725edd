import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { unmountTree } from '../engine/runtime/rootfs.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exitOf, runBuilt, startBuiltDaemon } from '../lib/testing/processes.js';
import { waitFor } from '../lib/poll.js';

// The built daemon as a real process: locking, socket, signals (`npm test` builds first).
let dir: string;
let children: ChildProcess[] = [];
// The daemon makes a bridge and an nft table at start: it runs in a namespace this file makes.
const netns = `tsdt-${process.pid}`;

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
});
afterAll(() => {
  execFileSync('ip', ['netns', 'del', netns]);
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarmd-test-'));
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exitOf));
  children = [];
  // A killed daemon leaves the engine's mounts (a container's rootfs, the pinned crun namespace
  // on a hybrid host) as a crashed one would; they go before the directory can.
  await unmountTree(dir);
  await rm(dir, { recursive: true, force: true });
});

function start(data: string, sock: string, extra: string[] = []): ChildProcess {
  const child = startBuiltDaemon(
    ['--data-dir', data, '--host', `unix://${sock}`, '--log-level', 'warn', ...extra],
    netns,
  );
  children.push(child);
  return child;
}

async function answers(sock: string, hostname?: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await runBuilt('cli', ['--host', `unix://${sock}`, 'info', '--format', 'json']);
      return r.code === 0 && (!hostname || JSON.parse(r.stdout).server.hostname === hostname);
    },
    { what: `a daemon on ${sock}`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

describe('tswarmd', () => {
  it('serves info on its socket (mode 0660) with the given hostname and a name prefix', async () => {
    const sock = join(dir, 'd.sock');
    start(join(dir, 'data'), sock, ['--hostname', 'node-a']);
    await answers(sock, 'node-a');
    expect((await stat(sock)).mode & 0o777).toBe(0o660);
    const info = JSON.parse((await runBuilt('cli', ['--host', `unix://${sock}`, 'info', '--format', 'json'])).stdout);
    expect(info.server.dataDir).toBe(join(dir, 'data'));
    expect(info.server.namePrefix).toMatch(/^t[0-9a-f]{5}$/);
    expect(info.server.swarm.localNodeState).toBe('inactive');
    expect(info.server.swarm.nodeId).toBe('');
    // The engine's figures, not placeholders: nothing made yet, and what the host probe found.
    expect([info.server.containers, info.server.containersRunning, info.server.images]).toEqual([0, 0, 0]);
    expect(info.server.runtime).toMatch(/^crun \d+\.\d+/);
    expect(['v1', 'hybrid', 'v2']).toContain(info.server.cgroupLayout);
    expect((await stat(join(dir, 'data'))).mode & 0o777).toBe(0o700);
  });

  it('refuses a second daemon on the same data dir, naming the holder', async () => {
    const first = start(join(dir, 'data'), join(dir, 'a.sock'));
    await answers(join(dir, 'a.sock'));
    const second = await runBuilt(
      'daemon',
      ['--data-dir', join(dir, 'data'), '--host', `unix://${join(dir, 'b.sock')}`],
      {},
      20_000,
      netns,
    );
    expect(second.code).toBe(1);
    expect(second.stdout + second.stderr).toContain(`is in use by another tswarmd (pid ${first.pid})`);
    expect(existsSync(join(dir, 'b.sock'))).toBe(false);
  });

  it('restarts after kill -9 on the same data dir and socket', async () => {
    const sock = join(dir, 'd.sock');
    const first = start(join(dir, 'data'), sock);
    await answers(sock);
    first.kill('SIGKILL');
    await exitOf(first);
    const second = start(join(dir, 'data'), sock);
    await answers(sock);
    expect((await readFile(join(dir, 'data', 'tswarmd.pid'), 'utf8')).split(' ')[0]).toBe(String(second.pid));
  });

  it('shuts down on SIGTERM: exit 0, socket and lock removed', async () => {
    const sock = join(dir, 'd.sock');
    const d = start(join(dir, 'data'), sock);
    await answers(sock);
    d.kill('SIGTERM');
    expect(await exitOf(d)).toEqual({ code: 0, signal: null });
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(join(dir, 'data', 'tswarmd.pid'))).toBe(false);
  });

  it('refuses a bad flag with exit code 2', async () => {
    const r = await runBuilt('daemon', ['--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('refuses a registry flag that could never work, naming it, before touching anything', async () => {
    const insecure = await runBuilt('daemon', [
      '--data-dir',
      join(dir, 'never'),
      '--insecure-registry',
      'http://reg:5000',
    ]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('insecure registry "http://reg:5000" is not HOST or HOST:PORT');
    const ca = await runBuilt('daemon', [
      '--data-dir',
      join(dir, 'ca'),
      '--host',
      `unix://${join(dir, 'ca.sock')}`,
      '--registry-ca',
      join(dir, 'no-such-ca.pem'),
    ]);
    expect(ca.code).not.toBe(0);
    expect(ca.stderr + ca.stdout).toContain('cannot read the registry CA bundle');
    expect(existsSync(join(dir, 'ca.sock'))).toBe(false);
  });
});
