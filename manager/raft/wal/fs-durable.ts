/**
 * File operations whose results must survive a crash: directories and renames are only durable
 * once the directory itself is fsynced (ext4/xfs may otherwise lose the new name).
 */
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDir } from '../../../lib/fsutil.js';
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

/** Writes all of buf at position; a short write is continued, not mistaken for success. */
export async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
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
