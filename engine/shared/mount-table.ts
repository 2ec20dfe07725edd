import { mkdir } from 'node:fs/promises';
import { run } from '../../lib/process/run.js';
import { readMounts } from '../runtime/probe.js';
import { isMounted } from '../runtime/rootfs.js';

const MOUNT_TIMEOUT_MS = 10_000;
/** Where ip(8) pins network namespaces; containers join theirs by this path. */
export const NETNS_DIR = '/run/netns';

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
