/**
 * Leader failover on real processes: three kvserver members with default
 * timings (tick 100 ms, elections after 10-20 ticks); SIGKILL of the leader's process, then the
 * time until a put through the surviving members succeeds, as a client that retries sees it.
 * Each trial is a fresh cluster, warmed up first. Targets: median < 1.5 s, max < 3 s.
 */
import { credentials } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { waitFor } from '../../lib/poll.js';
import { KvClient } from './kvserver/client.js';
import { formatMs, summarize } from '../stats.js';
import { ProcessCluster } from './processes.js';

const TRIALS = Number(process.env['TSWARM_BENCH_FAILOVER_TRIALS'] ?? 20);
const WARMUP_PUTS = 200;
const READY_TIMEOUT_MS = 30_000;

async function trial(): Promise<number> {
  const cluster = await ProcessCluster.startTswarm();
  const client = new KvClient({
    endpoints: cluster.clientAddrs,
    credentials: credentials.createInsecure(),
    requestTimeoutMs: 2000,
  });
  try {
    const session = client.session();
    await waitFor(() => session.put('ready', 'x').then(() => true), {
      what: 'the kv cluster to accept writes',
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 100,
    });
    for (let i = 0; i < WARMUP_PUTS; i++) await session.put(`warm${i}`, 'v');
    const leader = client.knownLeader();
    if (!leader) throw new Error('the client knows no leader after its warm-up');
    const t0 = performance.now();
    cluster.kill(leader);
    await session.put('after-failover', 'v');
    return performance.now() - t0;
  } finally {
    client.close();
    await cluster.stop();
  }
}

export async function benchRaftFailover(): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < TRIALS; i++) times.push(await trial());
  const s = summarize(times);
  console.log(
    `leader failover, ${TRIALS} trials (SIGKILL of the leader's process -> a put through a survivor succeeds)`,
  );
  console.log(`  ${formatMs(s)}`);
  // The whole distribution: a trial whose first election round splits (both survivors time out
  // in the same tick) takes a second round of 1-2 s, and shows here as the tail.
  console.log(
    `  all trials (ms): ${times
      .map((t) => Math.round(t))
      .sort((a, b) => a - b)
      .join(' ')}`,
  );
  console.log(
    `  targets: median < 1500 ms (${s.median < 1500 ? 'met' : 'missed'}), max < 3000 ms (${s.max < 3000 ? 'met' : 'missed'})`,
  );
}
