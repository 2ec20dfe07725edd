import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';
import { run } from '../../../lib/process/run.js';
import { writeAll } from '../../../lib/fsutil.js';
import { makeWhiteout, markOpaque } from './overlay-marks.js';
import { forEachTarEntry, type ReadEntry } from './tar-stream.js';
import { PaxXattrScanner } from './pax-xattrs.js';

/** A layer tar tried to write outside its root, or through something that is not a directory. */
export class UnsafeLayerError extends Error {}

type Kind = 'dir' | 'file' | 'symlink' | 'other';

interface DirMeta {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const TOOL_TIMEOUT_MS = 10_000;

/**
 * Unpacks one layer blob (tar, gzip or zstd) into `destDir`, an empty directory, and returns the
 * layer's diff ID (sha256 of the uncompressed tar) and uncompressed size. Owners, modes with
 * setuid/setgid/sticky, mtimes, symlinks, hard links inside the layer and device nodes are kept;
 * `.wh.NAME` becomes a 0/0 character device and `.wh..wh..opq` an opaque directory, so layer
 * directories stack directly as overlayfs lowerdirs. A path with `..`, or one that would pass
 * through a symlink or a non-directory, is refused: nothing is ever written outside `destDir`.
 */
export async function unpackLayerFile(
  blobPath: string,
  destDir: string,
): Promise<{ diffId: string; unpackedBytes: number }> {
  const hash = createHash('sha256');
  let unpackedBytes = 0;
  const xattrs = new PaxXattrScanner();
  const tarBytes = (async function* () {
    for await (const chunk of await decompressed(blobPath)) {
      hash.update(chunk);
      unpackedBytes += chunk.length;
      xattrs.push(chunk);
      yield chunk;
    }
  })();
  const writer = new LayerWriter(destDir, xattrs);
  await forEachTarEntry(tarBytes, (entry) => writer.apply(entry));
  await writer.finish();
  return { diffId: `sha256:${hash.digest('hex')}`, unpackedBytes };
}

async function decompressed(path: string): Promise<AsyncIterable<Buffer>> {
  const handle = await open(path, 'r');
  const magic = Buffer.alloc(4);
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const file = createReadStream(path);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return file.pipe(createGunzip()) as Readable;
  if (magic.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return file.pipe(createZstdDecompress()) as Readable;
  return file;
}

/** Normalizes an entry path to a relative one inside the layer; refuses `..` and NUL. */
export function layerPath(raw: string): string {
  if (raw.includes('\0')) throw new UnsafeLayerError(`refused layer entry with a NUL byte in its path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`refused layer entry "${raw}": it escapes the layer root`);
  return parts.join('/');
}

class LayerWriter {
  /** What this layer has created so far; the directory starts empty, so this is the whole truth. */
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirs = new Map<string, DirMeta>();
  /** Entries applied so far: the scanner keeps each one's xattrs under this number. */
  private entries = 0;

  constructor(
    private readonly root: string,
    private readonly xattrs: PaxXattrScanner,
  ) {}

  async apply(entry: ReadEntry): Promise<void> {
    const xattrs = this.xattrs.byEntry.get(this.entries++);
    await this.applyEntry(entry);
    // A whiteout is overlayfs's mark, not a file of the image: nothing to carry onto it.
    if (xattrs && !posix.basename(layerPath(entry.path)).startsWith(WHITEOUT_PREFIX))
      await applyXattrs(join(this.root, layerPath(entry.path)), xattrs);
  }

  private async applyEntry(entry: ReadEntry): Promise<void> {
    const rel = layerPath(entry.path);
    const name = posix.basename(rel);
    if (rel !== '') await this.ensureParents(rel, entry.path);
    if (name.startsWith(WHITEOUT_PREFIX)) return this.whiteout(rel, name);
    const abs = join(this.root, rel);
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        await this.replace(rel, 'file');
        await writeFileFrom(abs, entry);
        break;
      case 'Directory':
        await this.replace(rel, 'dir');
        if (rel !== '') await mkdir(abs, { mode: 0o700 }).catch(ignoreExists);
        this.dirs.set(rel, {
          path: abs,
          mode: (entry.mode ?? 0o755) & 0o7777,
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          mtime: entry.mtime ?? new Date(0),
        });
        return;
      case 'SymbolicLink':
        await this.replace(rel, 'symlink');
        // The target is stored, never followed here: absolute targets resolve inside the container.
        await symlink(entry.linkpath ?? '', abs);
        break;
      case 'Link':
        return this.hardlink(rel, entry);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        await this.replace(rel, 'other');
        await mknod(abs, entry);
        break;
      default:
        throw new UnsafeLayerError(`unsupported layer entry type ${entry.type} for "${entry.path}"`);
    }
    await applyMeta(abs, entry, entry.type === 'SymbolicLink');
  }

  /** Directory metadata last, deepest first: creating children would change their mtimes. */
  async finish(): Promise<void> {
    const dirs = [...this.dirs.values()].sort((a, b) => b.path.length - a.path.length);
    for (const d of dirs) {
      await lchown(d.path, d.uid, d.gid);
      await chmod(d.path, d.mode);
      await lutimes(d.path, d.mtime, d.mtime);
    }
  }

  private async whiteout(rel: string, name: string): Promise<void> {
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    if (name === OPAQUE_MARKER) return markOpaque(join(this.root, parent));
    if (name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // other AUFS metadata: not for overlayfs
    const target = posix.join(parent, name.slice(WHITEOUT_PREFIX.length));
    layerPath(target);
    await this.replace(target, 'other');
    await makeWhiteout(join(this.root, target));
  }

  private async hardlink(rel: string, entry: ReadEntry): Promise<void> {
    const target = layerPath(entry.linkpath ?? '');
    const kind = this.kinds.get(target);
    if (kind === undefined || kind === 'dir') {
      throw new UnsafeLayerError(
        `refused hard link "${entry.path}" -> "${entry.linkpath}": the target is not a file earlier in this layer`,
      );
    }
    await this.replace(rel, kind);
    // link(2) does not follow a symlink target: the new name is the same inode, inside the layer.
    await link(join(this.root, target), join(this.root, rel));
  }

  /** Creates missing parents; refuses to go through anything this layer made that is not a directory. */
  private async ensureParents(rel: string, raw: string): Promise<void> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const kind = this.kinds.get(prefix);
      if (kind === 'dir') continue;
      if (kind !== undefined)
        throw new UnsafeLayerError(`refused layer entry "${raw}": "${prefix}" is a ${kind}, not a directory`);
      await mkdir(join(this.root, prefix), { mode: 0o755 });
      this.kinds.set(prefix, 'dir');
    }
  }

  /** Makes room for a new entry at `rel`: a later entry replaces an earlier one (dirs merge). */
  private async replace(rel: string, kind: Kind): Promise<void> {
    const existing = this.kinds.get(rel);
    if (existing !== undefined && !(existing === 'dir' && kind === 'dir')) {
      await rm(join(this.root, rel), { recursive: true, force: true });
      for (const key of [...this.kinds.keys()]) if (key.startsWith(`${rel}/`)) this.kinds.delete(key);
      this.dirs.delete(rel);
    }
    this.kinds.set(rel, kind);
  }
}

async function writeFileFrom(path: string, entry: ReadEntry): Promise<void> {
  // 'wx': never opens an existing path (and so never follows a symlink planted there).
  const handle = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of entry as AsyncIterable<Buffer>) await writeAll(handle, chunk);
  } finally {
    await handle.close();
  }
}

async function mknod(path: string, entry: ReadEntry): Promise<void> {
  const type = entry.type === 'CharacterDevice' ? 'c' : entry.type === 'BlockDevice' ? 'b' : 'p';
  const numbers = type === 'p' ? [] : [String(entry.header.devmaj ?? 0), String(entry.header.devmin ?? 0)];
  await run('mknod', ['-m', '0600', path, type, ...numbers], { timeoutMs: TOOL_TIMEOUT_MS });
}

/** Owner first, then mode: chown clears setuid/setgid bits, so the mode must come after it. */
async function applyMeta(path: string, entry: ReadEntry, isSymlink: boolean): Promise<void> {
  await lchown(path, entry.uid ?? 0, entry.gid ?? 0);
  if (!isSymlink) await chmod(path, (entry.mode ?? 0o644) & 0o7777);
  const mtime = entry.mtime ?? new Date(0);
  await lutimes(path, mtime, mtime);
}

/**
 * The xattrs a layer may set: file capabilities (security.capability: ping, a server binding port
 * 80 as a user) and user.*. Others are left out: trusted.overlay.* in a lower layer would forge
 * overlayfs's own marks, and security.selinux or system.* are the host's business.
 */
const KEPT_XATTR = /^(security\.capability|user\..+)$/;

/** After applyMeta: chown clears security.capability, so it must come first. */
async function applyXattrs(path: string, xattrs: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const [name, value] of xattrs) {
    if (!KEPT_XATTR.test(name)) continue;
    // -h: a symlink's own attributes, never its target's; 0s: the value as base64, binary-safe.
    await run('setfattr', ['-h', '-n', name, '-v', `0s${value.toString('base64')}`, '--', path], {
      timeoutMs: TOOL_TIMEOUT_MS,
    });
  }
}

function ignoreExists(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err;
}
