/**
 * File operations whose results must survive a crash: directories and renames are only durable
 * once the directory itself is fsynced (ext4/xfs may otherwise lose the new name).
 */
import { writeSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDir } from '../../../../lib/fsutil.js';
import { ioError } from './errors.js';

export { fsyncDir };

/** mkdir -p, then fsync the parent of every directory it created, so the new names persist. */
export async function mkdirDurable(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  const created = [firstCreated];
  const rest = relative(firstCreated, dir);
  if (rest !== '') {
    let path = firstCreated;
    for (const part of rest.split(sep)) {
      path = join(path, part);
      created.push(path);
    }
  }
  for (const path of created) await fsyncDir(dirname(path));
}

/**
 * Buffers up to this size are written with blocking write(2) calls. A write only copies into the
 * page cache (the fsync after it is what waits for the disk), so it takes microseconds, while a
 * thread-pool write costs a hand-off and a wake-up of the event loop: on a busy machine that is
 * a few hundred microseconds on every save, on the path of every commit. Larger buffers go
 * through the pool, so the loop is never held for long.
 */
export const WRITE_BLOCKING_BYTES_MAX = 1024 * 1024;

/** Writes all of buf at position; a short write is continued, not mistaken for success. */
export async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  if (buf.length <= WRITE_BLOCKING_BYTES_MAX) {
    while (done < buf.length) done += writeSync(fh.fd, buf, done, buf.length - done, position + done);
    return;
  }
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Creates `name` in dir with `content`, atomically and durably (temp file, fsync, rename, fsync
 * dir), and returns it open for further writes. A crash leaves either no file or the whole content.
 */
export async function createFileDurable(dir: string, name: string, content: Uint8Array): Promise<FileHandle> {
  const tmp = join(dir, `${name}.tmp`);
  const path = join(dir, name);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w+', 0o600);
    await writeAll(fh, content, 0);
    await fh.sync();
    await rename(tmp, path);
    await fsyncDir(dir);
    return fh;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw ioError(err, `creating ${name}`, path);
  }
}
