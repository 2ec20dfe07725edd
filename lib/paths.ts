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
/**
 * Node's flags for tswarmd wherever it is started (bin/tswarmd passes the same, in shell): source
 * maps, so stack traces name the TypeScript; and V8's young generation capped at 2 MiB
 * semi-spaces rather than 16 MiB. A daemon's allocations are small and short-lived (RPCs, store
 * transactions, task records), so a small nursery costs little, and the large one only kept
 * ~25–45 MiB more resident per daemon, idle or after 120 tasks came and went (issue 16, measured
 * on the services benchmark's lab: the manager's engine 185–192 → 159–167 MiB fresh).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--enable-source-maps', '--max-semi-space-size=2'];

export function builtEntry(which: 'daemon' | 'cli'): string {
  return join(findRepoRoot(), 'dist', which, 'main.js');
}

/** The directory holding the `tswarm` and `tswarmd` wrappers, put on PATH inside lab hosts. */
export function binDir(): string {
  return join(findRepoRoot(), 'bin');
}
