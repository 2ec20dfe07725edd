import { mkdir, readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { run } from '../lib/process/run.js';
import { CGROUP_HIERARCHY_NAME, CGROUP_MOUNT } from './paths.js';

/**
 * Each lab host's processes live in a cgroup of a controller-less v1 hierarchy of the lab's own.
 * Runtimes move containers between controller hierarchies (memory, cpu, pids…) but never out of
 * a named one they do not know, so the host's cgroup keeps every process the host ever started —
 * which is what `lab crash` and `lab down` must end, and nothing else.
 */
const KILL_DEADLINE_MS = 10_000;
const KILL_POLL_MS = 20;

async function isMounted(): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === CGROUP_MOUNT);
}

export async function ensureHierarchy(): Promise<void> {
  if (await isMounted()) return;
  await mkdir(CGROUP_MOUNT, { recursive: true });
  try {
    await run('mount', ['-t', 'cgroup', '-o', `none,name=${CGROUP_HIERARCHY_NAME}`, 'cgroup', CGROUP_MOUNT], {
      timeoutMs: 10_000,
    });
  } catch (err) {
    throw new TswarmError(
      'UNSUPPORTED_HOST',
      `cannot mount the lab's process-tracking cgroup at ${CGROUP_MOUNT} (${(err as Error).message}). The lab needs root and cgroup v1 named hierarchies`,
      { cause: err },
    );
  }
}

export async function hierarchyMounted(): Promise<boolean> {
  return isMounted();
}

export async function createCgroup(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

export async function cgroupPids(path: string): Promise<number[]> {
  try {
    const text = await readFile(join(path, 'cgroup.procs'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Child cgroups, deepest last (a host's engine may nest its own). */
async function descendants(path: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = join(path, e.name);
    out.push(child, ...(await descendants(child)));
  }
  return out;
}

/** Every process in the cgroup and in its children (a host's engine may nest cgroups of its own). */
export async function cgroupTreePids(path: string): Promise<number[]> {
  const groups = [path, ...(await descendants(path))];
  return (await Promise.all(groups.map(cgroupPids))).flat();
}

/**
 * SIGKILLs every process in the cgroup and its children, again and again until none is left
 * (a dying parent may fork once more), within a deadline.
 */
export async function killCgroup(path: string): Promise<void> {
  const deadlineMs = Date.now() + KILL_DEADLINE_MS;
  for (;;) {
    const pids = await cgroupTreePids(path);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (Date.now() > deadlineMs) {
      throw new TswarmError(
        'INTERNAL',
        `processes ${pids.join(', ')} in ${path} survived SIGKILL for ${KILL_DEADLINE_MS} ms. Check for processes stuck in the kernel (state D)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
  }
}

/** Removes the cgroup and its children, deepest first; they must be empty (killCgroup first). */
export async function removeCgroup(path: string): Promise<void> {
  const all = [path, ...(await descendants(path))].reverse();
  for (const dir of all) await rmdir(dir).catch(() => undefined);
}

/** Lab cgroups present: one directory per lab under the hierarchy. */
export async function listLabCgroups(): Promise<string[]> {
  if (!(await isMounted())) return [];
  const entries = await readdir(CGROUP_MOUNT, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => join(CGROUP_MOUNT, e.name));
}
