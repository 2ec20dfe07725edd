import { basename, dirname } from 'node:path';
import { Header } from 'tar';
import { run } from '../../../lib/process/run.js';
import { which } from '../../../lib/process/which.js';
import { paxRecord } from './pax-xattrs.js';

/**
 * The two marks overlayfs reads in a lower layer, made with host tools because Node can neither
 * mknod nor set extended attributes:
 * - a whiteout (a file deleted by this layer) is a 0/0 character device, made by `mknod`;
 * - an opaque directory (its lower contents hidden) carries trusted.overlay.opaque=y, set by
 *   `setfattr` (package attr) when installed, else by GNU tar (always on Debian) restoring the
 *   xattr from a one-entry pax archive.
 */
const TOOL_TIMEOUT_MS = 10_000;
const OPAQUE_XATTR = 'trusted.overlay.opaque';

export async function makeWhiteout(path: string): Promise<void> {
  await run('mknod', ['-m', '0000', path, 'c', '0', '0'], { timeoutMs: TOOL_TIMEOUT_MS });
}

let setfattrPath: Promise<string | undefined> | undefined;

export async function markOpaque(dir: string, options: { useTar?: boolean } = {}): Promise<void> {
  setfattrPath ??= which('setfattr');
  const setfattr = options.useTar ? undefined : await setfattrPath;
  if (setfattr) {
    await run(setfattr, ['-n', OPAQUE_XATTR, '-v', 'y', dir], { timeoutMs: TOOL_TIMEOUT_MS });
    return;
  }
  // --no-overwrite-dir keeps the directory's mode and owner; the xattr is still applied.
  await run(
    'tar',
    [
      '-x',
      '--no-overwrite-dir',
      '--xattrs',
      `--xattrs-include=${OPAQUE_XATTR}`,
      '--no-same-permissions',
      '-C',
      dirname(dir),
      '-f',
      '-',
    ],
    {
      input: opaqueArchive(basename(dir)),
      timeoutMs: TOOL_TIMEOUT_MS,
    },
  );
}

/** A tar holding one directory entry `name/` with a pax header carrying the opaque xattr. */
function opaqueArchive(name: string): Buffer {
  const record = paxRecord(`SCHILY.xattr.${OPAQUE_XATTR}`, 'y');
  const pax = new Header({
    path: 'PaxHeader',
    mode: 0o644,
    size: record.length,
    type: 'ExtendedHeader',
    mtime: new Date(0),
  });
  const paxBlock = Buffer.alloc(512);
  pax.encode(paxBlock);
  const dirBlock = Buffer.alloc(512);
  new Header({ path: `${name}/`, mode: 0o755, size: 0, type: 'Directory', mtime: new Date(0) }).encode(dirBlock);
  const body = Buffer.alloc(Math.ceil(record.length / 512) * 512);
  record.copy(body);
  return Buffer.concat([paxBlock, body, dirBlock, Buffer.alloc(1024)]);
}
