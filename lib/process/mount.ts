/**
 * Mounting and unmounting filesystems (a container's overlay root): through the command launcher
 * as system calls where it runs, else with mount(8) and umount(8). The calls save a process each,
 * ~4 ms twice in every container's life (launcher-child.py).
 */
import { TswarmError } from '../errors.js';
import { run, runMountCall, type MountCall } from './run.js';

/** umount2's flag for a lazy unmount (umount -l): detached now, gone once nothing uses it. */
const MNT_DETACH = 2;

async function call(c: MountCall, timeoutMs: number): Promise<'unavailable' | { errno: number; message: string }> {
  const pending = runMountCall(c, timeoutMs);
  if (!pending) return 'unavailable';
  const result = await pending;
  if ('lost' in result)
    throw new TswarmError(
      'UNAVAILABLE',
      `${c.kind} ${c.target}: ${result.lost}, so whether it was done is unknown. Retry the operation`,
    );
  return result;
}

/** Mounts `fstype` from `source` on `target` with `data` (its options, as mount -o takes them). */
export async function mountFilesystem(
  fstype: string,
  source: string,
  target: string,
  data: string,
  timeoutMs: number,
): Promise<void> {
  const result = await call({ kind: 'mount', source, target, fstype, flags: 0, data }, timeoutMs);
  if (result === 'unavailable') {
    await run('mount', ['-t', fstype, source, '-o', data, target], { timeoutMs });
    return;
  }
  if (result.errno !== 0)
    throw new TswarmError(
      'INTERNAL',
      `cannot mount ${fstype} on ${target}: ${result.message}. The kernel log (dmesg) says why`,
    );
}

/** Unmounts `target`; `lazy` detaches it even while busy (umount -l). False when it could not. */
export async function unmountFilesystem(target: string, lazy: boolean, timeoutMs: number): Promise<boolean> {
  const result = await call({ kind: 'umount', target, flags: lazy ? MNT_DETACH : 0 }, timeoutMs);
  if (result === 'unavailable') {
    const r = await run('umount', lazy ? ['-l', target] : [target], { timeoutMs, allowFailure: true });
    return r.code === 0;
  }
  return result.errno === 0;
}
