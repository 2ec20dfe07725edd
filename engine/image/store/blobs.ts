import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { renameDurable, writeFileSynced, writeStreamSynced } from '../../../lib/fsutil.js';
import { assert } from '../../../lib/assert.js';
import { isDigest } from '../reference.js';

/** A blob whose bytes did not hash to the digest it was stored under. */
export class BlobDigestError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content does not match ${expected} (got ${actual})`);
  }
}

export class BlobTooLargeError extends Error {
  constructor(readonly bytesLimit: number) {
    super(`blob is larger than ${bytesLimit} bytes`);
  }
}

/**
 * Content-addressed blobs: `<root>/blobs/sha256/<hex>`, each written to a temp file, verified,
 * fsynced and renamed into place, so a blob that exists is whole and matches its name.
 * Partial downloads live in `<root>/ingest/` until they complete.
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  /** Downloads running, by digest: a partial file has one writer, however many pulls want it. */
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    // The digest becomes a file name: only the exact sha256 shape may reach the file system.
    assert(isDigest(digest), `blob digest is sha256:<64 hex>, got "${digest}"`);
    return join(this.blobsDir, digest.slice('sha256:'.length));
  }

  /** Where a resumable download of `digest` accumulates. */
  partialPath(digest: string): string {
    assert(isDigest(digest), `blob digest is sha256:<64 hex>, got "${digest}"`);
    return join(this.ingestDir, `${digest.slice('sha256:'.length)}.partial`);
  }

  async sizeOf(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch {
      return undefined;
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.sizeOf(digest)) !== undefined;
  }

  async read(digest: string, bytesMax: number): Promise<Buffer> {
    const size = await this.sizeOf(digest);
    if (size === undefined) throw new Error(`blob ${digest} is not in the store`);
    if (size > bytesMax) throw new BlobTooLargeError(bytesMax);
    const handle = await open(this.path(digest), 'r');
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** Stores bytes already in memory (manifests, configs) after checking them against `digest`. */
  async write(digest: string, data: Buffer): Promise<void> {
    const actual = sha256(data);
    if (actual !== digest) throw new BlobDigestError(digest, actual);
    if (await this.has(digest)) return;
    const tmp = this.tempPath();
    await writeFileSynced(tmp, data, 0o600);
    await this.commit(tmp, digest);
  }

  /**
   * Streams `source` into the store, hashing as it goes; with `expected`, a mismatch discards the
   * temp file and throws BlobDigestError. Returns the digest and size.
   */
  async ingest(
    source: AsyncIterable<Uint8Array>,
    expected?: string,
    bytesMax = Number.MAX_SAFE_INTEGER,
  ): Promise<{ digest: string; sizeBytes: number }> {
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let sizeBytes = 0;
    // Counted and hashed on the way to the file; a source over bytesMax stops the write.
    async function* measured(): AsyncIterable<Uint8Array> {
      for await (const chunk of source) {
        sizeBytes += chunk.length;
        if (sizeBytes > bytesMax) throw new BlobTooLargeError(bytesMax);
        hash.update(chunk);
        yield chunk;
      }
    }
    await writeStreamSynced(tmp, measured(), 0o600);
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && digest !== expected) {
      await rm(tmp, { force: true });
      throw new BlobDigestError(expected, digest);
    }
    await this.commit(tmp, digest);
    return { digest, sizeBytes };
  }

  /**
   * Makes the store hold `digest` by running `download` into its partial file, then committing
   * it — unless the blob is there already, or another download of it is running: then this waits
   * for that one, and tries itself only if it failed. Two pulls sharing a layer would otherwise
   * append to the same partial file at once and corrupt it. Says how the blob came: downloaded by
   * this call, by another pull it waited for (fresh either way), or stored before.
   */
  async fetchOnce(
    digest: string,
    download: (partialPath: string) => Promise<void>,
    onWait?: () => void,
  ): Promise<'downloaded' | 'waited' | 'stored'> {
    let waited = false;
    for (;;) {
      const running = this.fetching.get(digest);
      if (running) {
        onWait?.();
        waited = true;
        await running.catch(() => undefined);
        continue;
      }
      if (await this.has(digest)) return waited ? 'waited' : 'stored';
      // Another caller may have started while has() was out.
      if (!this.fetching.has(digest)) break;
    }
    const partial = this.partialPath(digest);
    const work = (async () => {
      await download(partial);
      await this.commit(partial, digest);
    })().finally(() => this.fetching.delete(digest));
    this.fetching.set(digest, work);
    await work;
    return 'downloaded';
  }

  /** Moves a complete, verified, fsynced file into place as `digest`. */
  async commit(file: string, digest: string): Promise<void> {
    await renameDurable(file, this.path(digest));
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.blobsDir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Removes a blob; returns the bytes freed. */
  async remove(digest: string): Promise<number> {
    const size = (await this.sizeOf(digest)) ?? 0;
    await rm(this.path(digest), { force: true });
    return size;
  }

  /** Partial downloads and temp files, for garbage collection. */
  async listIngest(): Promise<string[]> {
    return (await readdir(this.ingestDir)).map((n) => join(this.ingestDir, n));
  }

  private tempPath(): string {
    return join(this.ingestDir, `tmp-${randomBytes(8).toString('hex')}`);
  }
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Hashes a file's bytes (to resume a digest computation over a partial download). */
export async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<number> {
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return bytes;
}
