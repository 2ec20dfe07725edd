import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The installation's root (the folder holding tswarm's package.json), found from this file's own
 * location so it works both from source (vitest) and from dist/ (the built CLI and daemon).
 */
export function findRepoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tswarm') {
      root = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the tswarm installation root (package.json) above ' + fileURLToPath(import.meta.url));
}

/** The built entry points, which the lab starts as separate processes. */
export function builtEntry(which: 'daemon' | 'cli'): string {
  return join(findRepoRoot(), 'dist', which, 'main.js');
}

/** The directory holding the `tswarm` and `tswarmd` wrappers, put on PATH inside lab hosts. */
export function binDir(): string {
  return join(findRepoRoot(), 'bin');
}
