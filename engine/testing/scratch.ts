import { mkdtemp, rm, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Test support for every part of the engine: a fresh daemon prefix and temp directory per test,
 * and the cleanup of what they leave (the directory, the prefix's cgroups).
 */

export function randomPrefix(): string {
  return `t${randomBytes(3).toString('hex')}`;
}

export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tswarm-${label}-`));
}

/** Removes what a test's daemon prefix may have left in the cgroup trees (empty dirs only). */
export async function removePrefixCgroups(prefix: string): Promise<void> {
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const dir = join('/sys/fs/cgroup', controller, prefix);
    for (const child of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (child.isDirectory()) await rmdir(join(dir, child.name)).catch(() => undefined);
    }
    await rmdir(dir).catch(() => undefined);
  }
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
