import { performance } from 'node:perf_hooks';
import { Lab } from '../lab/lab.js';
import { createHost, createSwitch, deleteNetns, listLabNetns } from '../lab/netns.js';
import { planHosts } from '../lab/plan.js';
import { formatMs, summarize } from './stats.js';

/**
 * What every cluster test pays: `lab up --managers 3 --workers 2` (namespaces, links, five
 * daemons answering) and `lab down`. Baseline, in the same run: the same namespaces and links
 * made with iproute2 alone, no daemons — the floor any lab must pay.
 */
const RUNS = 5;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function networkOnly(name: string): Promise<void> {
  await createSwitch(name);
  for (const h of planHosts(3, 2)) await createHost(name, h.name, h.addr);
}

export async function benchLabUp(): Promise<void> {
  const up: number[] = [];
  const down: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `bench${i}`;
    let lab: Lab | undefined;
    try {
      up.push(await timed(async () => (lab = await Lab.up({ name, managers: 3, workers: 2, logLevel: 'warn' }))));
      down.push(await timed(() => lab!.down()));
      lab = undefined;
      const base = `benchb${i}`;
      try {
        baseline.push(await timed(() => networkOnly(base)));
      } finally {
        for (const n of await listLabNetns(base)) await deleteNetns(n);
      }
    } finally {
      await lab?.down();
    }
  }
  const u = summarize(up);
  const b = summarize(baseline);
  console.log('lab up --managers 3 --workers 2');
  console.log(`  lab up:             ${formatMs(u)}`);
  console.log(`  lab down:           ${formatMs(summarize(down))}`);
  console.log(`  baseline (ip only): ${formatMs(b)}`);
  console.log(`  ratio lab up / baseline: ${(u.median / b.median).toFixed(1)}x`);
}
