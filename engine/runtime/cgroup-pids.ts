import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupLayout } from './probe.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
/**
 * v1 hierarchies that hold a container's cgroup, tried in order: the runtime makes the cgroup in
 * every controller it manages, and any one of them lists all of the container's processes.
 */
const V1_CONTROLLERS = ['pids', 'memory', 'cpu,cpuacct', 'cpuacct', 'freezer'];
/** Sub-cgroups looked into at most (a container may make its own, as systemd in one does). */
const SUB_CGROUPS_MAX = 1_024;

/** The cgroup directory that lists the container's processes: the v2 tree, or a v1 controller's. */
async function cgroupDir(layout: CgroupLayout, cgroupsPath: string): Promise<string | undefined> {
  if (layout === 'v2') return join(CGROUP_ROOT, cgroupsPath);
  for (const controller of V1_CONTROLLERS) {
    const dir = join(CGROUP_ROOT, controller, cgroupsPath);
    if ((await readdir(dir).catch(() => undefined)) !== undefined) return dir;
  }
  return undefined;
}

/**
 * The PIDs (as the host sees them) of every process in the container's cgroup and its
 * sub-cgroups, ascending — what containerd's task.Pids gives dockerd for `docker top`: the
 * container's init, its children, and execs (the runtime puts them in the same cgroup). At most
 * `pidsMax`; a cgroup gone meanwhile (the container exited) gives none.
 */
export async function cgroupPids(layout: CgroupLayout, cgroupsPath: string, pidsMax: number): Promise<number[]> {
  const root = await cgroupDir(layout, cgroupsPath);
  if (!root) return [];
  const pids = new Set<number>();
  const pending = [root];
  let visited = 0;
  while (pending.length > 0 && visited < SUB_CGROUPS_MAX && pids.size < pidsMax) {
    const dir = pending.pop()!;
    visited++;
    const [procs, entries] = await Promise.all([
      readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''),
      readdir(dir, { withFileTypes: true }).catch(() => []),
    ]);
    for (const pid of parsePidList(procs)) if (pids.size < pidsMax) pids.add(pid);
    for (const e of entries) if (e.isDirectory()) pending.push(join(dir, e.name));
  }
  return [...pids].sort((a, b) => a - b);
}

/** A `cgroup.procs` file: one PID a line. */
export function parsePidList(text: string): number[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}
