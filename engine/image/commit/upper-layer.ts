import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { run } from '../../../lib/process/run.js';
import { PaxXattrScanner } from '../store/pax-xattrs.js';
import { TAR_END, tarHeader, tarPadding, type TarHead } from '../store/tar-writer.js';

/**
 * A container's changes as an OCI layer tar, read from its overlayfs upper directory: what it
 * added or changed is there as is; what it deleted is a 0/0 character device (overlayfs's
 * whiteout), written as an empty `.wh.NAME` file; a directory it replaced whole carries
 * trusted.overlay.opaque=y, written as the directory plus `.wh..wh..opq` (OCI image spec, "Whiteouts").
 *
 * Entries come sorted by name with their own mtimes, so the same changes give the same tar.
 */

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const SCAN_TIMEOUT_MS = 5 * 60_000;
/** Bytes read from a file at a time while it goes into the tar. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The files the engine bind-mounts over every container's rootfs (etc-files.ts): overlayfs may
 * hold empty stubs for their mount points, which are the engine's, not the container's changes.
 */
const ENGINE_MOUNT_STUBS = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf']);

/** Streams the layer tar of `upperDir` (uncompressed). */
export async function* upperLayerTar(upperDir: string): AsyncGenerator<Buffer> {
  const opaque = await opaqueDirs(upperDir);
  const inodes = new Map<string, string>();
  for await (const rel of walk(upperDir)) {
    const full = join(upperDir, rel);
    const st = await lstat(full);
    if (ENGINE_MOUNT_STUBS.has(rel) && st.isFile() && st.size === 0) continue;
    const base = headOf(st, rel);
    if (st.isCharacterDevice() && st.rdev === 0) {
      const name = posix.join(posix.dirname(rel), `${WHITEOUT_PREFIX}${posix.basename(rel)}`);
      yield tarHeader({ ...base, path: name, type: 'File', size: 0, mode: 0o644 });
    } else if (st.isDirectory()) {
      yield tarHeader({ ...base, path: `${rel}/`, type: 'Directory' });
      if (opaque.has(rel))
        yield tarHeader({ ...base, path: `${rel}/${OPAQUE_MARKER}`, type: 'File', size: 0, mode: 0o644 });
    } else if (st.isSymbolicLink()) {
      yield tarHeader({ ...base, type: 'SymbolicLink', linkpath: await readlink(full) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(key) : undefined;
      if (first !== undefined) {
        yield tarHeader({ ...base, type: 'Link', linkpath: first });
        continue;
      }
      if (st.nlink > 1) inodes.set(key, rel);
      yield tarHeader({ ...base, type: 'File', size: st.size });
      yield* fileContent(full, st.size);
      yield tarPadding(st.size);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      yield tarHeader({
        ...base,
        type: st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice',
        devmaj: (st.rdev >> 8) & 0xfff,
        devmin: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
      });
    } else if (st.isFIFO()) {
      yield tarHeader({ ...base, type: 'FIFO' });
    }
    // Sockets are left out, as Docker does: they mean nothing outside the process that bound them.
  }
  yield TAR_END;
}

function headOf(st: Stats, rel: string): TarHead {
  return { path: rel, type: 'File', mode: st.mode, uid: st.uid, gid: st.gid, size: 0, mtime: st.mtime };
}

/**
 * Exactly `size` bytes of the file (the size its header announced): a file that shrank since is
 * padded with zeros, one that grew is cut, so the tar stays well formed.
 */
async function* fileContent(path: string, size: number): AsyncGenerator<Buffer> {
  let sent = 0;
  if (size > 0) {
    const stream = createReadStream(path, { end: size - 1, highWaterMark: READ_CHUNK_BYTES });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      sent += chunk.length;
      yield chunk;
    }
  }
  if (sent < size) yield Buffer.alloc(size - sent);
}

/** Every path under `root`, relative, parents before children, names in byte order. */
async function* walk(root: string, rel = ''): AsyncGenerator<string> {
  const names = (await readdir(join(root, rel))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    yield path;
    const st = await lstat(join(root, path));
    if (st.isDirectory()) yield* walk(root, path);
  }
}

async function allDirs(root: string): Promise<string[]> {
  const dirs: string[] = [];
  for await (const rel of walk(root)) if ((await lstat(join(root, rel))).isDirectory()) dirs.push(rel);
  return dirs;
}

/**
 * The directories of `upperDir` overlayfs marked opaque. Node cannot read extended attributes,
 * so GNU tar (always on Debian) archives the bare directory entries with that one xattr, and the
 * pax headers it writes say which carry it.
 */
export async function opaqueDirs(upperDir: string): Promise<Set<string>> {
  const dirs = await allDirs(upperDir);
  const opaque = new Set<string>();
  if (dirs.length === 0) return opaque;
  const scratch = await mkdtemp(join(tmpdir(), 'tswarm-opaque-'));
  try {
    const archive = join(scratch, 'dirs.tar');
    await run(
      'tar',
      [
        '-c',
        '-f',
        archive,
        '--xattrs',
        `--xattrs-include=${OPAQUE_XATTR}`,
        '--no-recursion',
        '--null',
        '-C',
        upperDir,
        '-T',
        '-',
      ],
      { input: Buffer.from(dirs.map((d) => `./${d}\0`).join('')), timeoutMs: SCAN_TIMEOUT_MS },
    );
    const scanner = new PaxXattrScanner();
    scanner.push(await readFile(archive));
    for (const [i, xattrs] of scanner.byEntry) {
      const dir = dirs[i];
      if (dir !== undefined && xattrs.get(OPAQUE_XATTR)?.toString('utf8') === 'y') opaque.add(dir);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return opaque;
}
