import { mkdir, chmod, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { PidLock } from '../lib/process/pid-lock.js';
import { namePrefixFor } from './name-prefix.js';
import { freshNodeConfig, loadNodeConfig, saveNodeConfig, type NodeConfig } from './node-config.js';

export const DEFAULT_DATA_DIR = '/var/lib/tswarm';
export const LOCK_FILE = 'tswarmd.pid';
/**
 * The data dir's subdirectories (docs/architecture.md, Data directory). Not raft/: a manager's
 * Raft makes it, and a node that is no manager has none.
 */
const SUBDIRS = ['certificates', 'engine'] as const;

export interface OpenedDataDir {
  path: string;
  lock: PidLock;
  node: NodeConfig;
}

/**
 * Creates (mode 0700: it will hold private keys) and locks the data dir, then loads or creates
 * node.json. Nothing in the dir is touched before the lock is held.
 */
export async function openDataDir(dataDir: string): Promise<OpenedDataDir> {
  const path = resolve(dataDir);
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
    const info = await stat(path);
    if (!info.isDirectory())
      throw new TswarmError('INVALID_ARGUMENT', `data dir ${path} is not a directory. Give --data-dir a directory`);
  } catch (err) {
    if (err instanceof TswarmError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `cannot create data dir ${path} (${code}). Check the path and that tswarmd runs as root`,
      { cause: err },
    );
  }
  const lock = await PidLock.acquire(join(path, LOCK_FILE), `data dir ${path}`);
  try {
    await chmod(path, 0o700);
    for (const sub of SUBDIRS) await mkdir(join(path, sub), { recursive: true, mode: 0o700 });
    let node = await loadNodeConfig(path);
    if (!node) {
      node = freshNodeConfig(namePrefixFor(path));
      await saveNodeConfig(path, node);
    }
    return { path, lock, node };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
