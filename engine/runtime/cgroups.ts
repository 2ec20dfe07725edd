import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupLayout } from './probe.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Why a container's cgroup says it died: the kernel's own counters, read before the cgroup goes. */
export interface ExitReasons {
  oomKilled: boolean;
  pidsLimitHit: boolean;
}

function counter(text: string, key: string): number {
  const match = text.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return match ? Number(match[1]) : 0;
}

async function readOr(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** Reads the OOM-kill and pids-limit counters of the container's cgroup (`cgroupsPath` absolute). */
export async function readExitReasons(layout: CgroupLayout, cgroupsPath: string): Promise<ExitReasons> {
  if (layout === 'v2') {
    const dir = join(CGROUP_ROOT, cgroupsPath);
    const [memory, pids] = await Promise.all([readOr(join(dir, 'memory.events')), readOr(join(dir, 'pids.events'))]);
    return { oomKilled: counter(memory, 'oom_kill') > 0, pidsLimitHit: counter(pids, 'max') > 0 };
  }
  const [memory, pids] = await Promise.all([
    readOr(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.oom_control')),
    readOr(join(CGROUP_ROOT, 'pids', cgroupsPath, 'pids.events')),
  ]);
  return { oomKilled: counter(memory, 'oom_kill') > 0, pidsLimitHit: counter(pids, 'max') > 0 };
}

/** Directories that hold `cgroupPath` in each hierarchy (every v1 controller, or the v2 tree). */
async function hierarchyDirs(layout: CgroupLayout, cgroupPath: string): Promise<string[]> {
  if (layout === 'v2') return [join(CGROUP_ROOT, cgroupPath)];
  const controllers = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
  return controllers.filter((c) => c !== 'unified').map((c) => join(CGROUP_ROOT, c, cgroupPath));
}

/**
 * Removes an empty cgroup (the runtime removes a container's own; this is for leftovers and the
 * daemon's parent `/<prefix>`). A cgroup that still has processes stays: rmdir refuses it.
 */
export async function removeCgroup(layout: CgroupLayout, cgroupPath: string): Promise<void> {
  const dirs = await hierarchyDirs(layout, cgroupPath);
  await Promise.all(dirs.map((dir) => rmdir(dir).catch(() => undefined)));
}

/**
 * Removes a container's cgroup once its processes are gone; false when some hierarchy still holds
 * it (a process left in it, a failure), so the caller lets the runtime kill and remove it.
 */
export async function removeEndedCgroup(layout: CgroupLayout, cgroupPath: string): Promise<boolean> {
  const dirs = await hierarchyDirs(layout, cgroupPath);
  const results = await Promise.allSettled(dirs.map((dir) => rmdir(dir)));
  return results.every((r) => r.status === 'fulfilled' || (r.reason as NodeJS.ErrnoException).code === 'ENOENT');
}

/**
 * Removes every cgroup a daemon's prefix holds (`/PREFIX` and the `/PREFIX/ID` of its containers,
 * in every hierarchy), once their processes are gone: what a daemon that will not run again (a
 * torn-down lab host, a test's engine) leaves. A cgroup still in use stays: rmdir refuses it.
 */
export async function removePrefixCgroups(prefix: string): Promise<void> {
  for (const hierarchy of await readdir(CGROUP_ROOT).catch(() => [] as string[])) {
    const dir = join(CGROUP_ROOT, hierarchy, prefix);
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children) if (child.isDirectory()) await rmdir(join(dir, child.name)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  }
}

/** What a container's cgroup says it uses now (engine/runtime's view of `docker stats`). */
export interface CgroupUsage {
  cpuUsageNs: number;
  /** Without the inactive file cache, as `docker stats` counts it. */
  memoryBytes: number;
  /** 0: no limit. */
  memoryLimitBytes: number;
  pids: number;
}

/** v1 reports "no limit" as a huge page-rounded number; anything this large means none. */
const NO_LIMIT_BYTES = 2 ** 60;

function num(text: string): number {
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

export async function readUsage(layout: CgroupLayout, cgroupsPath: string): Promise<CgroupUsage> {
  if (layout === 'v2') {
    const dir = join(CGROUP_ROOT, cgroupsPath);
    const [cpu, current, max, stat, pids] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current'].map((f) => readOr(join(dir, f))),
    );
    const limit = max!.trim() === 'max' ? 0 : num(max!);
    return {
      cpuUsageNs: counter(cpu!, 'usage_usec') * 1000,
      memoryBytes: Math.max(0, num(current!) - counter(stat!, 'inactive_file')),
      memoryLimitBytes: limit,
      pids: num(pids!),
    };
  }
  const [cpu, usage, limit, stat, pids] = await Promise.all([
    readOr(join(CGROUP_ROOT, 'cpuacct', cgroupsPath, 'cpuacct.usage')),
    readOr(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.usage_in_bytes')),
    readOr(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.limit_in_bytes')),
    readOr(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.stat')),
    readOr(join(CGROUP_ROOT, 'pids', cgroupsPath, 'pids.current')),
  ]);
  const limitBytes = num(limit);
  return {
    cpuUsageNs: num(cpu),
    memoryBytes: Math.max(0, num(usage) - counter(stat, 'total_inactive_file')),
    memoryLimitBytes: limitBytes >= NO_LIMIT_BYTES ? 0 : limitBytes,
    pids: num(pids),
  };
}
