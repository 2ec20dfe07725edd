/**
 * Closed-loop load: N clients, each a sequential loop of puts, for a warm-up then a measured
 * window. Throughput counts puts completed inside the window; latencies are of puts started in it.
 */
import { performance } from 'node:perf_hooks';
import { percentile } from '../stats.js';

export type PutFn = (key: string, value: string) => Promise<void>;

export interface LoadResult {
  writesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Keys per client cycle through this many, so the stored state stays bounded. */
const KEYS_PER_CLIENT = 100;
/** Failed puts tolerated before the run is declared broken. */
const ERRORS_MAX = 100;

export async function runLoad(
  clients: PutFn[],
  value: string,
  warmupMs: number,
  measureMs: number,
): Promise<LoadResult> {
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + measureMs;
  const latencies: number[] = [];
  let completed = 0;
  let errors = 0;
  await Promise.all(
    clients.map(async (put, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        try {
          await put(`bench-${c}-${i % KEYS_PER_CLIENT}`, value);
        } catch (err) {
          if (++errors > ERRORS_MAX) throw err;
          continue;
        }
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
        if (t1 >= measureFrom && t1 <= end) completed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    writesPerSec: completed / (measureMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}
