import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/process/run.js';
import { unmountUnder } from '../../lab/teardown.js';

/**
 * `podman run --rm` from Debian on the same image, when podman is installed (it is optional: the
 * benchmark says so and skips it otherwise). Its storage lives in a temp dir removed afterwards.
 * On this hybrid cgroup machine it needs the cgroupfs manager, runc, and explicit --ulimit
 * values (runc may not raise the defaults podman asks for).
 */
export interface Podman {
  runOnce(): Promise<void>;
  remove(): Promise<void>;
}

const IMAGE = 'localhost/tswarm-bench:1';

export async function makePodman(ociLayout: string, tag: string): Promise<Podman | undefined> {
  if ((await run('podman', ['--version'], { allowFailure: true }).catch(() => undefined))?.code !== 0) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-bench-podman-'));
  const base = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--cgroup-manager=cgroupfs',
    '--events-backend=file',
    '--runtime',
    'runc',
  ];
  const remove = async () => {
    await run('podman', [...base, 'rmi', '--all', '--force'], { allowFailure: true, timeoutMs: 60_000 });
    // containers/storage keeps its overlay dir mounted (private); only then can the dir go.
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { stdout } = await run('podman', [...base, 'pull', '--quiet', `oci:${ociLayout}:${tag}`], {
      timeoutMs: 60_000,
    });
    await run('podman', [...base, 'tag', stdout.trim(), IMAGE]);
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    async runOnce() {
      await run(
        'podman',
        [
          ...base,
          'run',
          '--rm',
          '--pull',
          'never',
          '--network',
          'none',
          '--ulimit',
          'nofile=1024:1024',
          '--ulimit',
          'nproc=4096:4096',
          IMAGE,
          'true',
        ],
        { timeoutMs: 60_000, cwd: dir },
      );
    },
    remove,
  };
}
