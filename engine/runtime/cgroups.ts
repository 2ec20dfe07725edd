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
  for (const dir of await hierarchyDirs(layout, cgroupPath)) {
    await rmdir(dir).catch(() => undefined);
  }
}
