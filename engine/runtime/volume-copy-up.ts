import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { run } from '../../lib/run.js';

/** A volume mounted into a container: where in the container, and its directory on the host. */
export interface VolumeMountPoint {
  target: string;
  hostPath: string;
}

/** Copying an image directory into a volume is bounded like a pull's unpack. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/**
 * Docker's copy-up: an empty volume mounted where the image has files starts with a copy of them
 * (a database image's default config, nginx's cache tree), owners, modes and xattrs kept. Done at
 * create, from the container's own rootfs (the image as overlayfs shows it). A path through a
 * symlink is left alone: resolved on the host it could point outside the rootfs.
 */
export async function copyImageContentIntoVolumes(rootfs: string, volumes: readonly VolumeMountPoint[], log: Logger): Promise<void> {
  for (const v of volumes) {
    const source = await directoryInRootfs(rootfs, v.target);
    if (!source) continue;
    if ((await readdir(source)).length === 0) continue;
    if ((await readdir(v.hostPath)).length > 0) continue; // a volume with data is used as it is
    await run('cp', ['-a', '--', `${source}/.`, `${v.hostPath}/`], { timeoutMs: COPY_TIMEOUT_MS });
    log.debug({ target: v.target, volume: v.hostPath }, 'copied the image content into a new volume');
  }
}

/** `target` inside the rootfs when every component is a real directory (no symlink), else undefined. */
async function directoryInRootfs(rootfs: string, target: string): Promise<string | undefined> {
  let path = rootfs;
  for (const part of target.split('/').filter((p) => p !== '' && p !== '.')) {
    if (part === '..') return undefined;
    path = join(path, part);
    const info = await lstat(path).catch(() => undefined);
    if (!info || !info.isDirectory()) return undefined;
  }
  return path === rootfs ? undefined : path;
}
