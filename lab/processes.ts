import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { processStartTime, isHolderAlive } from '../lib/process/pid-lock.js';
import { builtEntry, binDir, DAEMON_NODE_FLAGS } from '../lib/paths.js';
import { TswarmError } from '../lib/errors.js';
import { labPaths } from './paths.js';
import type { HostState } from './state.js';

export interface ProcessRef {
  pid: number;
  startTime: string;
}

export function isAlive(ref: ProcessRef): boolean {
  return ref.pid > 0 && isHolderAlive(ref);
}

/** Sends a signal only to the very process we started: same pid *and* same start time. */
export function signalProcess(ref: ProcessRef, signal: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

export async function waitForExit(ref: ProcessRef, timeoutMs: number): Promise<boolean> {
  const deadlineMs = Date.now() + timeoutMs;
  while (isAlive(ref)) {
    if (Date.now() > deadlineMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Quotes a word for sh -c. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `argv` as a process of a lab host: first into the host's cgroup, then into its network
 * namespace (nsenter --net, not `ip netns exec`, which remounts /sys and hides the cgroup tree —
 * docs/lab.md), then exec: the pid we get is the pid of the program itself.
 */
/** The sh script that enters a host (cgroup, then network namespace) and execs `argv`. */
export function hostCommandScript(lab: string, host: HostState, argv: readonly string[]): string {
  const cgroupProcs = `${labPaths.cgroupHost(lab, host.name)}/cgroup.procs`;
  return `echo $$ > ${shellQuote(cgroupProcs)} && exec nsenter --net=${shellQuote(labPaths.netnsPath(host.netns))} -- ${argv.map(shellQuote).join(' ')}`;
}

export function spawnInHost(
  lab: string,
  host: HostState,
  argv: readonly string[],
  options: { stdio: StdioOptions; detached?: boolean; env?: NodeJS.ProcessEnv },
): ChildProcess {
  return spawn('/bin/sh', ['-c', hostCommandScript(lab, host, argv)], {
    stdio: options.stdio,
    detached: options.detached ?? false,
    env: options.env ?? process.env,
  });
}

/** The environment of a command run on a host: `tswarm` on PATH, talking to that host's daemon. */
export function hostEnv(host: HostState, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: `${binDir()}:${base['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    TSWARM_HOST: `unix://${host.socket}`,
  };
}

function withoutHostVar(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy['TSWARM_HOST'];
  return copy;
}

/** Starts a host's tswarmd, detached so it outlives the `tswarm lab` command that started it. */
export async function startDaemon(
  lab: string,
  host: HostState,
  logLevel: string,
  extraArgs: readonly string[] = [],
): Promise<ProcessRef> {
  const logFd = openSync(host.logFile, 'a', 0o644);
  try {
    const argv = [
      process.execPath,
      ...DAEMON_NODE_FLAGS,
      builtEntry('daemon'),
      '--data-dir',
      host.dataDir,
      '--host',
      `unix://${host.socket}`,
      '--hostname',
      host.name,
      '--log-level',
      logLevel,
      ...extraArgs,
    ];
    const child = spawnInHost(lab, host, argv, {
      stdio: ['ignore', logFd, logFd],
      detached: true,
      env: withoutHostVar(process.env),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', (err) =>
        reject(
          new TswarmError('INTERNAL', `cannot start tswarmd for host ${host.name}: ${err.message}`, { cause: err }),
        ),
      );
    });
    child.unref();
    const startTime = processStartTime(pid);
    if (!startTime)
      throw new TswarmError(
        'INTERNAL',
        `tswarmd for host ${host.name} exited at once. See ${host.logFile}:\n${logTail(host.logFile)}`,
      );
    return { pid, startTime };
  } finally {
    closeSync(logFd);
  }
}

/** The last lines of a daemon's log, for an error message that explains itself. */
export function logTail(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
