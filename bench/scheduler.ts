import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Node, Task } from '../gen/tswarm/v1/objects.js';
import { firstFailure, requirementsOf } from '../manager/scheduler/filters.js';
import { activeTasksOf, addPlacement, nodeInfosOf } from '../manager/scheduler/node-info.js';
import { placeTasks } from '../manager/scheduler/scheduler.js';
import { node, task, type SpecOptions } from '../manager/tasks/testing/objects.js';
import { summarize } from './stats.js';

/**
 * The scheduler's pure core placing one batch: 10,000 tasks on 100 nodes and 1,000 tasks on
 * 1,000 nodes, with and without a spread preference over 3 zones, each with 200 tasks of other
 * services already placed. Each run builds fresh objects (not timed) and times placeTasks alone.
 * Baseline in the same run, for the cases without a preference: a linear scan of every node per
 * task with the same filters and the same choice (fewest tasks of the service, then fewest
 * overall) — O(tasks × nodes), what the heaps avoid.
 */
const RUNS = Number(process.env['TSWARM_BENCH_SCHEDULER_RUNS'] ?? 15);
// Runs discarded first, so the JIT has compiled both paths before any run is measured.
const WARMUP_RUNS = 3;
const ZONES = ['a', 'b', 'c'];

function cluster(nodeCount: number, taskCount: number, spec: SpecOptions) {
  const nodes = Array.from({ length: nodeCount }, (_, i) =>
    node({ id: `n${String(i).padStart(5, '0')}`, labels: { zone: ZONES[i % ZONES.length]! } }),
  );
  const placed = Array.from({ length: 200 }, (_, i) =>
    task({
      id: `p${i}`,
      serviceId: `other${i % 7}`,
      nodeId: nodes[(i * 7) % nodeCount]!.id,
      reserveMemoryBytes: 2 ** 20,
    }),
  );
  const unassigned = Array.from({ length: taskCount }, (_, i) =>
    task({ id: `t${i}`, serviceId: 'svc', reserveMemoryBytes: 2 ** 20, reserveNanoCpus: 1e6, ...spec }),
  );
  return { nodes, placed, unassigned };
}

function placeByLinearScan(nodes: readonly Node[], placed: readonly Task[], unassigned: readonly Task[]): number {
  const infos = [...nodeInfosOf(nodes, placed).values()];
  let assigned = 0;
  // Every task of the batch asks the same: read the requirements once, as placeTasks does per group.
  const req = requirementsOf(unassigned[0]!);
  for (const t of unassigned) {
    let best;
    for (const info of infos) {
      if (firstFailure(req, info)) continue;
      const better =
        !best ||
        activeTasksOf(info, t.serviceId) < activeTasksOf(best, t.serviceId) ||
        (activeTasksOf(info, t.serviceId) === activeTasksOf(best, t.serviceId) && info.activeTasks < best.activeTasks);
      if (better) best = info;
    }
    if (!best) continue;
    addPlacement(best, t.serviceId, req.reservations);
    assigned += 1;
  }
  return assigned;
}

function timeRuns(label: string, nodeCount: number, taskCount: number, spec: SpecOptions, linear: boolean): number {
  const samples: number[] = [];
  for (let run = -WARMUP_RUNS; run < RUNS; run++) {
    const { nodes, placed, unassigned } = cluster(nodeCount, taskCount, spec);
    const t0 = performance.now();
    const assigned = linear
      ? placeByLinearScan(nodes, placed, unassigned)
      : placeTasks({ nodes, placed, unassigned }).assignments.length;
    if (run >= 0) samples.push(performance.now() - t0);
    if (assigned !== taskCount) throw new Error(`${label}: placed ${assigned} of ${taskCount} tasks`);
  }
  const s = summarize(samples);
  const perTaskUs = (s.median * 1000) / taskCount;
  const ms = (v: number) => v.toFixed(1);
  console.log(
    `  ${label.padEnd(60)} median ${ms(s.median)} ms (min ${ms(s.min)}, max ${ms(s.max)}, n=${s.n})  ${perTaskUs.toFixed(2)} µs/task`,
  );
  return s.median;
}

export async function benchScheduler(): Promise<void> {
  console.log(`scheduler pure core, one batch per run (${RUNS} runs each; 200 tasks of other services placed)`);
  // A loaded machine widens the spread: the load is printed so figures from two runs can be weighed.
  console.log(
    `  ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const cases: [string, number, number, SpecOptions][] = [
    ['10,000 tasks x 100 nodes', 100, 10_000, {}],
    ['10,000 tasks x 100 nodes, spread=node.labels.zone', 100, 10_000, { spread: ['node.labels.zone'] }],
    ['1,000 tasks x 1,000 nodes', 1_000, 1_000, {}],
    ['1,000 tasks x 1,000 nodes, spread=node.labels.zone', 1_000, 1_000, { spread: ['node.labels.zone'] }],
  ];
  for (const [label, nodes, tasks, spec] of cases) {
    const heap = timeRuns(`placeTasks: ${label}`, nodes, tasks, spec, false);
    // The linear scan knows no preferences: it is compared on the cases without one.
    if (spec.spread) continue;
    const linear = timeRuns(`baseline linear scan: ${label}`, nodes, tasks, spec, true);
    console.log(`  ${'linear scan / placeTasks'.padEnd(60)} ${(linear / heap).toFixed(2)}x`);
  }
}
