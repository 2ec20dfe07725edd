import { open, readFile, rename, mkdir, rm, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** fsync a directory, so a rename or a new file in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `chunk` at the handle's position: one write may take only part of it. */
export async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Writes `data` to a new (or truncated) file and fsyncs it: the first half of an atomic replace. */
export async function writeFileSynced(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const handle = await open(path, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Streams `source` into a new (or truncated) file and fsyncs it, like writeFileSynced for data
 * that does not fit in memory. If the source or a write fails, the partial file is removed.
 */
export async function writeStreamSynced(path: string, source: AsyncIterable<Uint8Array>, mode = 0o600): Promise<void> {
  const handle = await open(path, 'w', mode);
  try {
    for await (const chunk of source) await writeAll(handle, chunk);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(path, { force: true });
    throw err;
  }
  await handle.close();
}

/**
 * Renames a complete, fsynced file into place and fsyncs the target's directory: the second half
 * of an atomic replace. `from` must be on the same file system as `to`.
 */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}

/**
 * Replaces a file atomically and durably: write a temp file, fsync it, rename it over the target,
 * fsync the directory. A crash leaves either the old content or the new, never a torn mix.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
  await writeFileSynced(tmp, data, mode);
  await renameDurable(tmp, path);
}

/** A small state file's text, or undefined when it does not exist (any other failure is thrown). */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
