import { enableCompileCache, setSourceMapsSupport } from 'node:module';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * Where Node's compile cache goes: the user's own cache directory ($XDG_CACHE_HOME, else
 * ~/.cache), never Node's default under the shared temp dir — there another user could plant
 * cache entries for root's `tswarm` to load. Undefined (no cache) when there is no home.
 */
function compileCacheDir(): string | undefined {
  try {
    // root (often under sudo, which may keep a user's HOME or XDG_CACHE_HOME) takes its own home
    // from the password database, so it never loads code cached in a directory a user can write.
    if (process.getuid?.() === 0) return join(userInfo().homedir, '.cache', 'tswarm', 'compile-cache');
    const xdg = process.env['XDG_CACHE_HOME'];
    if (xdg && isAbsolute(xdg)) return join(xdg, 'tswarm', 'compile-cache');
    const home = homedir();
    return home ? join(home, '.cache', 'tswarm', 'compile-cache') : undefined;
  } catch {
    return undefined;
  }
}

// Node's on-disk compile cache (V8 code for every module loaded): a later run skips compiling
// the CLI, the generated messages and commander again — about 15 ms of `tswarm container ls`.
// It must be on before the rest loads, hence the dynamic imports below; where the cache cannot
// be written Node just compiles as before.
const cacheDir = compileCacheDir();
if (cacheDir) enableCompileCache(cacheDir);
// Source-mapped stack traces cost about 13 ms a run (each module's map is read and parsed), and
// the CLI shows a stack only with TSWARM_DEBUG (cli/errors.ts): mapped then, and only then.
if (process.env['TSWARM_DEBUG']) setSourceMapsSupport(true);

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  // What scripts probe most, answered as commander would answer it, without loading commander.
  const { tswarmVersion } = await import('../lib/version.js');
  process.stdout.write(`${tswarmVersion()}\n`);
} else {
  const { runCli } = await loadProgram();
  process.exitCode = await runCli(argv);
}

/**
 * The command tree: the bundle `npm run build` makes (scripts/bundle-cli.mjs), which loads in
 * fewer files, else the compiled modules (a build that stopped after tsc).
 */
async function loadProgram(): Promise<typeof import('./program.js')> {
  const bundled = './bundle/program.js';
  try {
    return (await import(bundled)) as typeof import('./program.js');
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' ||
      !String((err as Error).message).includes('bundle/program.js')
    )
      throw err;
    return import('./program.js');
  }
}
