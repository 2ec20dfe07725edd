import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { formatMs, summarize, type Summary } from '../stats.js';
import { swarmCluster } from '../swarm/cluster.js';
import { swarmMissing } from '../swarm/host.js';
import type { BenchCluster } from './cluster.js';
import {
  createService,
  msUntilRunning,
  removeService,
  scaleService,
  waitNoContainers,
  waitNodesReady,
} from './steps.js';
import { tswarmCluster } from './tswarm-cluster.js';

/**
 * The services benchmark (issue 15): on 3 managers + 3 workers with the image already pulled,
 * how long until every task of a service runs —
 * - `service create` with 10 replicas, and with 60;
 * - `service scale` 60 → 120;
 * - `kill -9` of a worker's daemon, until all of its tasks run on other nodes (default timings);
 * for tswarm and, beside it in the same run, Docker Swarm (Debian's docker.io) on lab hosts of its
 * own, reported as ratios Swarm / tswarm. The two take turns round by round, so a machine that
 * gets busier (other work runs here) weighs on both. "Running" is what the workers reported, read
 * from the leader's `GET /tasks` every 100 ms. Targets: 60 replicas in under 4 s, a dead worker's
 * tasks elsewhere in under 5 s, and at least 3× faster than Swarm at each step.
 *
 * TSWARM_BENCH_SERVICES_RUNS: rounds (default 5). TSWARM_BENCH_SERVICES_SWARM=0: tswarm alone.
 */
const RUNS_DEFAULT = 5;
/** A step slower than this is a failure, not a figure (Swarm needs ~20 s for a node's death). */
const STEP_TIMEOUT_MS = 180_000;
const CLEANUP_TIMEOUT_MS = 180_000;
const LAB_TSWARM = 'benchsvc';
const LAB_SWARM = 'benchswm';

interface Step {
  key: 'create10' | 'create60' | 'scale120' | 'nodeDeath';
  label: string;
  targetMs?: number;
}

const STEPS: readonly Step[] = [
  { key: 'create10', label: 'service create, 10 replicas → all running' },
  { key: 'create60', label: 'service create, 60 replicas → all running', targetMs: 4_000 },
  { key: 'scale120', label: 'service scale 60 → 120 → all running' },
  { key: 'nodeDeath', label: "kill -9 of a worker's daemon → its tasks running elsewhere", targetMs: 5_000 },
];
const RATIO_TARGET = 3;

type Samples = Record<Step['key'], number[]>;

function emptySamples(): Samples {
  return { create10: [], create60: [], scale120: [], nodeDeath: [] };
}

/** One round of every step on one cluster; what it leaves behind is removed before it returns. */
async function round(c: BenchCluster, r: number, samples: Samples): Promise<Record<Step['key'], number>> {
  const api = c.leader;
  const hosts = [...c.hosts.values()];
  const wait = (id: string, replicas: number, t0: number, what: string, exceptNode?: string) =>
    msUntilRunning(api, id, replicas, t0, {
      timeoutMs: STEP_TIMEOUT_MS,
      what: `${c.label}: ${what}`,
      ...(exceptNode ? { exceptNode } : {}),
    });
  const got = {} as Record<Step['key'], number>;

  let t0 = performance.now();
  const small = await createService(api, `svc${r}a`, c.image, 10);
  got.create10 = await wait(small, 10, t0, '10 replicas running');
  await removeService(api, small);
  await waitNoContainers(hosts, small, CLEANUP_TIMEOUT_MS);

  t0 = performance.now();
  const id = await createService(api, `svc${r}b`, c.image, 60);
  got.create60 = await wait(id, 60, t0, '60 replicas running');

  t0 = performance.now();
  await scaleService(api, id, 120);
  got.scale120 = await wait(id, 120, t0, '120 replicas running');

  // A different worker each round; 120 tasks on 6 nodes puts ~20 on it.
  const victim = c.workers[r % c.workers.length]!;
  const victimNode = c.nodeIds.get(victim)!;
  t0 = performance.now();
  await c.killDaemon(victim);
  got.nodeDeath = await wait(id, 120, t0, `120 replicas running without ${victim}`, victimNode);

  // Untimed: the worker comes back and stops its stale tasks; the service goes.
  await c.startDaemon(victim);
  await waitNodesReady(api, c.hosts.size, CLEANUP_TIMEOUT_MS);
  await removeService(api, id);
  await waitNoContainers(hosts, id, CLEANUP_TIMEOUT_MS);
  for (const s of STEPS) samples[s.key].push(got[s.key]);
  return got;
}

function runsWanted(): number {
  const v = Number(process.env['TSWARM_BENCH_SERVICES_RUNS'] ?? RUNS_DEFAULT);
  if (!Number.isInteger(v) || v < 1) throw new Error(`TSWARM_BENCH_SERVICES_RUNS must be a whole number ≥ 1, not ${v}`);
  return v;
}

async function baseline(): Promise<{ cluster?: BenchCluster; missing?: string }> {
  if (process.env['TSWARM_BENCH_SERVICES_SWARM'] === '0') return { missing: 'TSWARM_BENCH_SERVICES_SWARM=0' };
  const missing = await swarmMissing();
  if (missing) return { missing };
  try {
    return { cluster: await swarmCluster(LAB_SWARM) };
  } catch (err) {
    return { missing: `Docker Swarm did not come up: ${(err as Error).message}` };
  }
}

const ms = (v: number) => `${v.toFixed(0)} ms`;

function report(clusters: readonly BenchCluster[], samples: ReadonlyMap<BenchCluster, Samples>): void {
  const [tswarm, swarm] = clusters;
  for (const step of STEPS) {
    process.stdout.write(`  ${step.label}\n`);
    const summaries = new Map<BenchCluster, Summary>();
    for (const c of clusters) {
      const s = summarize(samples.get(c)![step.key]);
      summaries.set(c, s);
      const target = c === tswarm && step.targetMs ? ` (target < ${step.targetMs} ms)` : '';
      process.stdout.write(`    ${c.label.padEnd(14)} ${formatMs(s)}${target}\n`);
    }
    if (tswarm && swarm) {
      const ratio = summaries.get(swarm)!.median / summaries.get(tswarm)!.median;
      process.stdout.write(`    ${'Swarm / tswarm'.padEnd(14)} ${ratio.toFixed(1)}x (target >= ${RATIO_TARGET}x)\n`);
    }
  }
}

export async function benchServices(): Promise<void> {
  const runs = runsWanted();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const clusters: BenchCluster[] = [];
  try {
    clusters.push(await tswarmCluster(LAB_TSWARM));
    const { cluster, missing } = await baseline();
    if (cluster) clusters.push(cluster);
    process.stdout.write(
      `services on 3 managers + 3 workers, image pre-pulled, ${runs} rounds (${clusters.map((c) => c.label).join(' and ')} taking turns); load average at start ${load}\n`,
    );
    if (missing) process.stdout.write(`  Docker Swarm baseline skipped: ${missing}\n`);
    const samples = new Map(clusters.map((c) => [c, emptySamples()]));
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? clusters : [...clusters].reverse();
      for (const c of order) {
        const got = await round(c, r, samples.get(c)!);
        process.stdout.write(
          `  round ${r + 1} ${c.label.padEnd(14)} ${STEPS.map((s) => `${s.key} ${ms(got[s.key])}`).join(', ')}\n`,
        );
      }
    }
    report(clusters, samples);
    process.stdout.write(
      `  load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
  } finally {
    for (const c of clusters)
      await c.down().catch((err: unknown) => console.error(`${c.label} teardown: ${(err as Error).message}`));
  }
}
