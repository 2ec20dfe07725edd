// Bundles the CLI's command tree for start-up speed: dist/cli/program.js and the modules it
// reaches become a few files in dist/cli/bundle/, each lazily loaded command group a chunk of its
// own, so a command loads ~20 files instead of ~40 and skips most module resolution (about 7 ms
// of every `tswarm` command). dist/cli/main.js loads the bundle when it is there, else
// program.js; tests run the sources. Packages stay outside the bundle (resolved from
// node_modules at run time as before) except commander, which every command needs.
import { rmSync } from 'node:fs';
import { build } from 'rolldown';

const outDir = 'dist/cli/bundle';
rmSync(outDir, { recursive: true, force: true });
await build({
  input: { program: 'dist/cli/program.js' },
  platform: 'node',
  external: (id) => /^[^./]/.test(id) && id !== 'commander' && !id.startsWith('commander/'),
  logLevel: 'warn',
  output: { dir: outDir, format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
