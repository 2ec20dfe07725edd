import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run } from '../../../lib/process/run.js';
import { waitFor } from '../../../lib/poll.js';

/**
 * Test support for engine/network. Network safety: every test runs the code under test with a
 * `hostNetns` the test made itself, so nothing touches the root namespace's interfaces, routes,
 * sysctls or nft tables, and traffic only goes to addresses inside namespaces the test made.
 */

const TIMEOUT_MS = 5_000;

export async function makeTestNetns(): Promise<string> {
  const name = `tsnt-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name], { timeoutMs: TIMEOUT_MS });
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: TIMEOUT_MS });
  return name;
}

export async function deleteTestNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'delete', name], { timeoutMs: TIMEOUT_MS, allowFailure: true });
}

/** A TCP server in the namespace at `netnsPath` that answers every connection with "hi". */
export function startHiServer(netnsPath: string, port: number): ChildProcess {
  const child = spawn('nsenter', [`--net=${netnsPath}`, 'busybox', 'nc', '-ll', '-p', `${port}`, '-e', 'echo', 'hi'], {
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  return child;
}

/** Kills a server this test started, once: a child killed by a signal has no exit code, only a signal code. */
export function stopProcess(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null || child.killed) return;
  child.kill('SIGKILL');
}

/** Connects from the namespace at `netnsPath` and returns what the server said ('' if nothing). */
export async function tcpGet(netnsPath: string, ip: string, port: number): Promise<string> {
  const r = await run('nsenter', [`--net=${netnsPath}`, 'busybox', 'nc', '-w', '2', ip, `${port}`], {
    timeoutMs: TIMEOUT_MS,
    allowFailure: true,
  });
  return r.stdout.trim();
}

/** Retries until the server answers "hi" (a listener just spawned may not be bound yet). */
export async function expectHi(netnsPath: string, ip: string, port: number): Promise<void> {
  await waitFor(async () => (await tcpGet(netnsPath, ip, port)) === 'hi', {
    what: `"hi" from ${ip}:${port}`,
    timeoutMs: TIMEOUT_MS,
    intervalMs: 100,
  });
}

export async function pingOnce(netnsPath: string, ip: string): Promise<boolean> {
  const r = await run('nsenter', [`--net=${netnsPath}`, 'busybox', 'ping', '-c', '1', '-W', '2', ip], {
    timeoutMs: TIMEOUT_MS,
    allowFailure: true,
  });
  return r.code === 0;
}
