import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { run } from '../../lib/process/run.js';

/** A volume mounted into a container: where in the container, and its directory on the host. */
export interface VolumeMountPoint {
  target: string;
  hostPath: string;
}

/** Copying an image directory into a volume is bounded like a pull's unpack. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/**
 * Docker's copy-up: an empty volume mounted where the image has a directory starts as a copy of
 * it (a database image's default config, nginx's cache tree; the directory's own owner and mode
 * too), owners, modes and xattrs kept. Done at
 * create, from the container's own rootfs (the image as overlayfs shows it). A path through a
 * symlink is left alone: resolved on the host it could point outside the rootfs.
 */
export async function copyImageContentIntoVolumes(
  rootfs: string,
  volumes: readonly VolumeMountPoint[],
  log: Logger,
): Promise<void> {
  for (const v of volumes) {
    const source = await directoryInRootfs(rootfs, v.target);
    if (!source) continue;
    if ((await readdir(v.hostPath)).length > 0) continue; // a volume with data is used as it is
    // Even an empty directory gives the volume its owner and mode (an image's USER may own it).
    try {
      await run('cp', ['-a', '--', `${source}/.`, `${v.hostPath}/`], { timeoutMs: COPY_TIMEOUT_MS });
    } catch (err) {
      // Half a copy would pass for data the next time (the volume is no longer empty): empty it.
      await emptyDirectory(v.hostPath).catch((e: unknown) =>
        log.warn({ err: e, volume: v.hostPath }, 'emptying a volume after a failed copy-up failed'),
      );
      throw err;
    }
    log.debug({ target: v.target, volume: v.hostPath }, 'copied the image content into a new volume');
  }
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
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
