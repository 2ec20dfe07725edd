/**
 * The host's mount table, read and extended: what both engine/runtime (root filesystems, the crun
 * namespace on a hybrid host) and the network namespace pins in netns.ts need to know about mounts.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { run } from '../../lib/process/run.js';

const MOUNT_TIMEOUT_MS = 10_000;

/** Mount points and types from /proc/self/mounts. */
export async function readMounts(): Promise<{ target: string; type: string; options: string }[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const f = l.split(' ');
      // /proc/self/mounts escapes spaces as \040
      return { target: (f[1] ?? '').replace(/\\040/g, ' '), type: f[2] ?? '', options: f[3] ?? '' };
    });
}

export async function isMounted(target: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.target === target);
}

/** A bind mount of `dir` on itself (carrying the mounts below it) with the given propagation. */
export async function ensureOwnMount(dir: string, propagation: 'shared' | 'private', mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  if (!(await isMounted(dir))) await run('mount', ['--rbind', dir, dir], { timeoutMs: MOUNT_TIMEOUT_MS });
  await run('mount', [`--make-${propagation}`, dir], { timeoutMs: MOUNT_TIMEOUT_MS });
}

/** True when a namespace (nsfs) is mounted on `path`: a bare file there (a crash while pinning) is not one. */
export async function isPinnedNamespace(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.target === path && m.type === 'nsfs');
}
