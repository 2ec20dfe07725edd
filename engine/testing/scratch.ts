import { mkdtemp, rm } from 'node:fs/promises';
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

/** What a test's daemon prefix may have left in the cgroup trees goes as a lab host's does. */
export { removePrefixCgroups } from '../runtime/cgroups.js';

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
