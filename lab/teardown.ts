import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../lib/process/run.js';
import type { Logger } from '../lib/log.js';
import { removePrefixCgroups } from '../engine/runtime/cgroups.js';
import { killCgroup, removeCgroup } from './cgroup.js';
import { deleteNetns, listNetns } from './netns.js';
import { labPaths, REGISTRY_HOST } from './paths.js';
import { isAlive, signalProcess, waitForExit } from './processes.js';
import type { HostState, LabState } from './state.js';

/** How long daemons get to stop on SIGTERM during `lab down` before everything is killed. */
const GRACEFUL_STOP_MS = 5_000;

/** Mount points at or below `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

export async function unmountUnder(dir: string): Promise<string[]> {
  const mounts = await mountsUnder(dir);
  for (const m of mounts) {
    const r = await run('umount', [m], { allowFailure: true, timeoutMs: 10_000 });
    if (r.code !== 0) await run('umount', ['-l', m], { allowFailure: true, timeoutMs: 10_000 });
  }
  return mounts;
}

/** The name prefix a host's daemon gave the kernel objects it made (node.json), if it ever started. */
async function daemonPrefix(host: HostState): Promise<string | undefined> {
  try {
    const node = JSON.parse(await readFile(join(host.dataDir, 'node.json'), 'utf8')) as { namePrefix?: unknown };
    return typeof node.namePrefix === 'string' && node.namePrefix !== '' ? node.namePrefix : undefined;
  } catch {
    return undefined;
  }
}

export interface TeardownReport {
  netns: string[];
  mounts: string[];
}

/**
 * Removes everything a lab made, in an order that cannot strand anything: processes first (so
 * nothing holds a mount or a namespace), then mounts, namespaces (with every link inside),
 * cgroups, and last the lab's directory. Each step tolerates what is already gone, so it also
 * finishes a lab that failed half-way.
 */
export async function teardownLab(
  state: LabState,
  options: { graceful: boolean; log?: Logger },
): Promise<TeardownReport> {
  const lab = state.name;
  if (options.graceful) {
    const running = state.hosts.filter((h) => isAlive(h));
    for (const h of running) signalProcess(h, 'SIGTERM');
    await Promise.all(running.map((h) => waitForExit(h, GRACEFUL_STOP_MS)));
  }
  for (const h of state.hosts) {
    signalProcess(h, 'SIGKILL');
    await killCgroup(labPaths.cgroupHost(lab, h.name));
  }
  await killCgroup(labPaths.cgroupLab(lab));
  const mounts = await unmountUnder(labPaths.dir(lab));
  const prefixes = (await Promise.all(state.hosts.map(daemonPrefix))).filter((p): p is string => p !== undefined);
  // The registry host is no daemon host (not in state.hosts) but lives and dies with the lab.
  const ours = new Set([
    labPaths.switchNetns(lab),
    labPaths.hostNetns(lab, REGISTRY_HOST),
    ...state.hosts.map((h) => h.netns),
  ]);
  const present = await listNetns();
  const doomed = present.filter((n) => ours.has(n) || prefixes.some((p) => n.startsWith(p)));
  for (const n of doomed) await deleteNetns(n);
  for (const p of prefixes) await removePrefixCgroups(p);
  await removeCgroup(labPaths.cgroupLab(lab));
  await rm(labPaths.dir(lab), { recursive: true, force: true });
  options.log?.info({ lab, netns: doomed.length, mounts: mounts.length }, 'lab torn down');
  return { netns: doomed, mounts };
}
