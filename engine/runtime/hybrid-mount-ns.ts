import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/process/run.js';
import { ensureOwnMount, isPinnedNamespace, readMounts } from '../netns/mount-table.js';
import { NETNS_DIR } from '../netns/netns.js';

/**
 * crun on a hybrid cgroup host refuses to run while the cgroup2 mount holds a controller, and
 * works in a mount namespace without that mount (docs/lab.md). Making such a namespace for every crun
 * call (unshare, sh, umount — the cgroup2 umount alone takes ~5 ms) cost ~20 ms per call and four
 * calls per container. So the engine makes one at start and pins it to a file; each call then
 * only enters it (nsenter, ~3 ms).
 *
 * The pinned namespace is a slave of the host's, so later host mounts reach it only from shared
 * mounts: the engine's containers directory (where rootfs overlays are mounted) and /run/netns
 * (where ip-netns pins namespaces) are made shared first. Host paths elsewhere are seen as they
 * were when the namespace was pinned, so a container with bind mounts is created through a fresh
 * namespace instead (OciRuntime.conmonCommand).
 */

const MOUNT_TIMEOUT_MS = 10_000;

export interface PinnedMountNs {
  /** The namespace file to pass to `nsenter --mount=`. */
  path: string;
}

/** True when the pinned namespace no longer has the cgroup2 mount (a pin made halfway still has it). */
async function pinIsUsable(path: string, unifiedMount: string): Promise<boolean> {
  const r = await run('nsenter', [`--mount=${path}`, 'cat', '/proc/self/mounts'], {
    timeoutMs: MOUNT_TIMEOUT_MS,
    allowFailure: true,
  });
  return r.code === 0 && !r.stdout.split('\n').some((l) => l.split(' ')[1] === unifiedMount);
}

async function unpin(path: string): Promise<void> {
  await run('umount', ['-l', path], { timeoutMs: MOUNT_TIMEOUT_MS, allowFailure: true });
}

/**
 * The pinned namespace under `engineRoot`, made on first use and reused after a daemon restart
 * (the pin is a mount, which outlives the daemon) once checked. `containersDir` must hold every
 * rootfs mount. Undefined when the directory holds mounts but is no mount itself (containers
 * started before this scheme, still running): binding it now would hide their rootfs mounts, so
 * crun keeps to a fresh namespace per call until the daemon starts with none of them left.
 */
export async function pinHybridMountNs(
  engineRoot: string,
  containersDir: string,
  unifiedMount: string,
): Promise<PinnedMountNs | undefined> {
  const nsDir = join(engineRoot, 'mntns');
  const path = join(nsDir, 'crun');
  if (await isPinnedNamespace(path)) {
    if (await pinIsUsable(path, unifiedMount)) return { path };
    await unpin(path);
  }
  const mounts = await readMounts();
  const containersIsMount = mounts.some((m) => m.target === containersDir);
  if (!containersIsMount && mounts.some((m) => m.target.startsWith(`${containersDir}/`))) return undefined;
  await ensureOwnMount(containersDir, 'shared');
  // ip(8) makes /run/netns a shared mount on first use; namespaces made later must reach the pin.
  await ensureOwnMount(NETNS_DIR, 'shared', 0o755);
  // unshare(1) cannot pin a namespace onto a shared mount (the pin would propagate into itself).
  await ensureOwnMount(nsDir, 'private');
  await writeFile(path, '', { mode: 0o600 });
  try {
    // unshare pins the namespace before it runs umount: a failure leaves a pin to take down.
    await run('unshare', [`--mount=${path}`, '--propagation', 'slave', 'umount', unifiedMount], {
      timeoutMs: MOUNT_TIMEOUT_MS,
    });
  } catch (err) {
    await unpin(path);
    throw err;
  }
  return { path };
}
