import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/process/run.js';

/**
 * The floor for `tswarm container run --rm --network none IMAGE true`: the same work done by hand
 * in one shell script — overlay-mount the image's unpacked layers, `crun run` a minimal
 * config.json (its own network namespace: no network), unmount, remove. It runs in a private
 * mount namespace without the cgroup2 mount, as crun needs on a hybrid cgroup
 * host (docs/lab.md, "Recipes tried on these machines").
 */
const SCRIPT = `
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
b=$1; lower=$2; id=$3
mkdir -p "$b/upper" "$b/work" "$b/rootfs"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$b/upper,workdir=$b/work" "$b/rootfs"
crun --root "$b/state" run -b "$b" "$id" >/dev/null
umount "$b/rootfs"
rm -rf "$b/upper" "$b/work" "$b/rootfs" "$b/state"
`;

export interface Baseline {
  runOnce(): Promise<void>;
  remove(): Promise<void>;
}

/** Lower dirs of `image` in a daemon's image store, top layer first (overlayfs order). */
export async function imageLowerDirs(engineDir: string, repoTag: string): Promise<string> {
  const imagesDir = join(engineDir, 'images');
  const index = JSON.parse(await readFile(join(imagesDir, 'images.json'), 'utf8')) as {
    tags: Record<string, string>;
    images: Record<string, { layers: { diffId: string }[] }>;
  };
  const record = index.images[index.tags[repoTag] ?? ''];
  if (!record) throw new Error(`image ${repoTag} is not in ${imagesDir}`);
  return record.layers
    .map((l) => join(imagesDir, 'layers', l.diffId.slice('sha256:'.length)))
    .reverse()
    .join(':');
}

export async function makeBaseline(lowerDirs: string): Promise<Baseline> {
  const bundle = await mkdtemp(join(tmpdir(), 'tswarm-bench-bundle-'));
  await mkdir(join(bundle, 'rootfs'));
  await run('crun', ['spec'], { cwd: bundle });
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: { args: string[]; terminal: boolean };
    root: { path: string; readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  spec.process.args = ['true'];
  spec.process.terminal = false;
  spec.root = { path: 'rootfs', readonly: false };
  let n = 0;
  return {
    async runOnce() {
      const id = `tswarm-bench-${process.pid}-${n++}`;
      // A cgroup per container, as the engine makes; crun removes it on exit.
      spec.linux.cgroupsPath = `/${id}`;
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', SCRIPT, 'baseline', bundle, lowerDirs, id], {
        timeoutMs: 30_000,
      });
    },
    remove: () => rm(bundle, { recursive: true, force: true }),
  };
}
