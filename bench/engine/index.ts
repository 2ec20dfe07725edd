import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Lab } from '../../lab/lab.js';
import { run } from '../../lib/process/run.js';
import { binDir } from '../../lib/paths.js';
import { labPaths, REGISTRY_HOST } from '../../lab/paths.js';
import { formatMs, summarize, type Summary } from '../stats.js';
import { imageLowerDirs, makeBaseline } from './baseline.js';
import { makePodman } from './podman.js';
import { ApiRun } from './api-run.js';

/**
 * The engine benchmark, on a one-host lab with the lab registry:
 * - `tswarm container run --rm --network none IMAGE true` end to end, through the CLI users run,
 *   beside `podman run --rm --network none` (runc) on the same image — target: tswarm ≥ 2× faster;
 * - the daemon's share of that run (the run minus `tswarm --version`, the CLI's own start) beside
 *   a plain script doing the same steps by hand (overlay mount, `crun run`, unmount, remove) —
 *   target ≤ 1.5× the script;
 * - the same run as the Engine API calls alone, from this already-running process: the daemon's
 *   own part, without the CLI's start and module loading;
 * - the same run with `--network bridge`, to show what networking costs;
 * The tswarm CLI runs in the root namespace beside the script and podman, talking to the lab
 * host's daemon over its socket, so no nsenter sits in its figures.
 * - pull of the test image from the lab registry, cold (after `image rm`) and warm.
 * The variants take turns within each round, so a noisy machine hurts them alike.
 */
const RUNS = 50;
/** bin/tswarm: the command users run. */
const TSWARM_BIN = join(binDir(), 'tswarm');
const PULL_RUNS = 5;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function line(label: string, s: Summary): void {
  process.stdout.write(`  ${label.padEnd(44)} ${formatMs(s)}\n`);
}

function ratio(label: string, a: Summary, b: Summary): void {
  process.stdout.write(`  ${label.padEnd(44)} ${(a.median / b.median).toFixed(2)}x\n`);
}

export async function benchEngine(): Promise<void> {
  const lab = await Lab.up({ name: 'benchen', managers: 1, workers: 0, registry: true, logLevel: 'warn' });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const registry = lab.requireRegistry();
    // The CLI runs here, in the root namespace, as the script and podman do; it reaches m1's
    // daemon over its Unix socket (TSWARM_HOST), and the containers run on m1 as they would.
    const env = { ...process.env, ...lab.env('m1') };
    const tswarm = async (args: string[]) => {
      const r = await run(TSWARM_BIN, args, { timeoutMs: 60_000, env, allowFailure: true });
      if (r.code !== 0) throw new Error(`tswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    };
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < PULL_RUNS; i++) {
      await tswarm(['image', 'rm', registry.image]).catch(() => undefined);
      cold.push(await timed(() => tswarm(['pull', registry.image])));
      warm.push(await timed(() => tswarm(['pull', registry.image])));
    }
    const baseline = await makeBaseline(await imageLowerDirs(join(lab.hosts[0]!.dataDir, 'engine'), registry.image));
    cleanups.push(() => baseline.remove());
    const podman = await makePodman(join(labPaths.hostDir(lab.name, REGISTRY_HOST), 'oci'), 'busybox');
    if (podman) cleanups.push(() => podman.remove());
    const apiRun = new ApiRun(env['TSWARM_HOST']!);
    cleanups.push(async () => apiRun.close());

    const samples = {
      none: [] as number[],
      bridge: [] as number[],
      script: [] as number[],
      podman: [] as number[],
      cli: [] as number[],
      api: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      samples.none.push(
        await timed(() => tswarm(['container', 'run', '--rm', '--network', 'none', registry.image, 'true'])),
      );
      samples.bridge.push(
        await timed(() => tswarm(['container', 'run', '--rm', '--network', 'bridge', registry.image, 'true'])),
      );
      samples.script.push(await timed(() => baseline.runOnce()));
      if (podman) samples.podman.push(await timed(() => podman.runOnce()));
      samples.cli.push(await timed(() => tswarm(['--version'])));
      samples.api.push(await timed(() => apiRun.runOnce(registry.image)));
    }
    const s = {
      none: summarize(samples.none),
      bridge: summarize(samples.bridge),
      script: summarize(samples.script),
      cli: summarize(samples.cli),
    };
    process.stdout.write(`container run --rm IMAGE true (${RUNS} runs each, interleaved), image ${registry.image}\n`);
    line('tswarm container run --network none', s.none);
    line('tswarm container run --network bridge', s.bridge);
    line('plain script (overlay + crun run + umount)', s.script);
    line('tswarm --version (CLI start-up alone)', s.cli);
    const share = summarize(samples.none.map((v, i) => v - samples.cli[i]!));
    line('daemon share: run --network none minus CLI start', share);
    ratio('ratio daemon share / script (target <= 1.5x)', share, s.script);
    const api = summarize(samples.api);
    line('the same run as API calls alone (no CLI)', api);
    ratio('ratio API calls alone / script', api, s.script);
    ratio('ratio bridge / none (cost of networking)', s.bridge, s.none);
    if (podman) {
      const p = summarize(samples.podman);
      line('podman run --rm --network none (runc)', p);
      ratio('ratio podman / tswarm none, end to end (target >= 2x)', p, s.none);
    } else
      process.stdout.write('  podman: not installed, skipped (scripts/setup.sh --bench installs podman and runc)\n');
    process.stdout.write(`image pull from the lab registry (${PULL_RUNS} runs)\n`);
    line('cold (after image rm)', summarize(cold));
    line('warm (everything present)', summarize(warm));
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    await lab.down();
  }
}
