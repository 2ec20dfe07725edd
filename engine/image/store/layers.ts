import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../../lib/assert.js';
import { fsyncDir } from '../../../lib/fsutil.js';
import { run } from '../../../lib/process/run.js';
import { isDigest } from '../reference.js';
import { unpackLayerFile } from './unpack.js';

/** Flushing a layer's files before it is published; big layers on slow disks take a while. */
const SYNC_TIMEOUT_MS = 10 * 60_000;
const TEMP_PREFIX = '.tmp-';

export class LayerDiffIdError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`unpacked layer has diff ID ${actual}, the image config says ${expected}`);
  }
}

/**
 * Unpacked layers, one directory per diff ID under `<root>/layers/<hex>/`, each holding only
 * its own changes, so the same layer is unpacked once whatever images share it. A layer is
 * unpacked into a temp directory, flushed to disk and renamed into place: a directory under its
 * final name is always complete. Removal renames it away first for the same reason.
 */
export class LayerStore {
  readonly dir: string;
  private readonly inFlight = new Map<string, Promise<number>>();

  constructor(root: string) {
    this.dir = join(root, 'layers');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.removeTemps();
  }

  path(diffId: string): string {
    assert(isDigest(diffId), `layer diff ID is sha256:<64 hex>, got "${diffId}"`);
    return join(this.dir, diffId.slice('sha256:'.length));
  }

  async has(diffId: string): Promise<boolean> {
    try {
      return (await stat(this.path(diffId))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Unpacks `blobPath` as layer `diffId` unless already there; concurrent calls for one layer
   * share the work. Returns the uncompressed size (0 when it was already unpacked).
   */
  unpack(diffId: string, blobPath: string): Promise<number> {
    const running = this.inFlight.get(diffId);
    if (running) return running;
    const work = this.unpackOnce(diffId, blobPath).finally(() => this.inFlight.delete(diffId));
    this.inFlight.set(diffId, work);
    return work;
  }

  private async unpackOnce(diffId: string, blobPath: string): Promise<number> {
    if (await this.has(diffId)) return 0;
    const tmp = join(this.dir, `${TEMP_PREFIX}${diffId.slice(7, 19)}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { mode: 0o755 });
    try {
      const { diffId: actual, unpackedBytes } = await unpackLayerFile(blobPath, tmp);
      if (actual !== diffId) throw new LayerDiffIdError(diffId, actual);
      await run('sync', ['--file-system', tmp], { timeoutMs: SYNC_TIMEOUT_MS });
      await rename(tmp, this.path(diffId));
      await fsyncDir(this.dir);
      return unpackedBytes;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  isBusy(diffId: string): boolean {
    return this.inFlight.has(diffId);
  }

  async remove(diffId: string): Promise<void> {
    const doomed = join(this.dir, `${TEMP_PREFIX}rm-${randomBytes(6).toString('hex')}`);
    try {
      await rename(this.path(diffId), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fsyncDir(this.dir);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Half-unpacked or half-removed layers left by a crash. */
  async removeTemps(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX) && !this.inFlightTemp(name))
        await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  private inFlightTemp(name: string): boolean {
    for (const diffId of this.inFlight.keys())
      if (name.startsWith(`${TEMP_PREFIX}${diffId.slice(7, 19)}-`)) return true;
    return false;
  }
}
