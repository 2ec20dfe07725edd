import { mkdir } from 'node:fs/promises';
import { mountFilesystem, unmountFilesystem } from '../../lib/process/mount.js';
import { TswarmError } from '../../lib/errors.js';
import { isMounted, readMounts } from '../netns/mount-table.js';

/** The page the kernel copies mount options into; overlay's lowerdir list must fit in it. */
const MOUNT_OPTIONS_BYTES_MAX = 4096;
const MOUNT_TIMEOUT_MS = 10_000;

export interface OverlayDirs {
  upper: string;
  work: string;
  target: string;
}

/** overlayfs takes the highest layer first; the image store lists them lowest first. */
export function overlayOptions(layerDirs: readonly string[], dirs: OverlayDirs): string {
  if (layerDirs.length === 0)
    throw new TswarmError('INVALID_ARGUMENT', 'the image has no layers. Pull or load it again');
  for (const dir of [...layerDirs, dirs.upper, dirs.work]) {
    if (/[,:]/.test(dir))
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `overlay directory "${dir}" contains ',' or ':', which mount options cannot carry`,
      );
  }
  const options = `lowerdir=${[...layerDirs].reverse().join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  if (options.length >= MOUNT_OPTIONS_BYTES_MAX) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the image has too many layers (${layerDirs.length}) for one overlay mount. Flatten the image`,
    );
  }
  return options;
}

/** Mounts the container's root filesystem unless it is mounted already (a restart, an adoption). */
export async function mountRootfs(layerDirs: readonly string[], dirs: OverlayDirs): Promise<void> {
  if (await isMounted(dirs.target)) return;
  const options = overlayOptions(layerDirs, dirs);
  await Promise.all([dirs.upper, dirs.work, dirs.target].map((d) => mkdir(d, { recursive: true })));
  await mountFilesystem('overlay', 'overlay', dirs.target, options, MOUNT_TIMEOUT_MS);
}

/**
 * Unmounts everything at or below `target`, deepest first; a busy mount is detached lazily so
 * removal never hangs on a process that still holds a file open.
 */
export async function unmountTree(target: string): Promise<void> {
  const below = (await readMounts())
    .map((m) => m.target)
    .filter((t) => t === target || t.startsWith(`${target}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of below) {
    if (!(await unmountFilesystem(mountPoint, false, MOUNT_TIMEOUT_MS)))
      await unmountFilesystem(mountPoint, true, MOUNT_TIMEOUT_MS);
  }
}
