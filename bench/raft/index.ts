/**
 * Raft write throughput and latency: tswarm's Raft (three kvserver processes, real fsync)
 * against etcd 3.4 (three members) in the same run, on loopback, 128-byte values, 1, 16 and 256
 * concurrent clients each doing sequential puts. Medians and spread over REPS fresh clusters.
 * Targets (set when tswarm's Raft was written): throughput >= 1.0x etcd at every concurrency (2x the ambition),
 * p50 at 1 client no worse than etcd's.
 */
import { credentials } from '@grpc/grpc-js';
import { cpus, loadavg } from 'node:os';
import { Etcd3 } from 'etcd3';
import { waitFor } from '../../lib/poll.js';
import { KvClient } from './kvserver/client.js';
import { summarize } from '../stats.js';
import { runLoad, type LoadResult, type PutFn } from './load.js';
import { ProcessCluster } from './processes.js';

const CONCURRENCIES = (process.env['TSWARM_BENCH_RAFT_CLIENTS'] ?? '1,16,256').split(',').map(Number);
const VALUE = 'v'.repeat(128);
const envInt = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const REPS = envInt('TSWARM_BENCH_RAFT_REPS', 3);
const WARMUP_MS = envInt('TSWARM_BENCH_RAFT_WARMUP_MS', 1000);
const MEASURE_MS = envInt('TSWARM_BENCH_RAFT_MEASURE_MS', 5000);
const READY_TIMEOUT_MS = 30_000;

type Results = Map<number, LoadResult[]>;

interface System {
  start(): Promise<ProcessCluster>;
  /** Returns one put function per client, and a closer. */
  connect(cluster: ProcessCluster, clients: number): { puts: PutFn[]; close(): void };
}

/** One RPC per put, as the etcd client does; or, coalescing, one RPC per event-loop turn of puts. */
function tswarmSystem(coalesce: boolean): System {
  return {
    start: () => ProcessCluster.startTswarm(),
    connect(cluster, n) {
      const client = new KvClient({
        endpoints: cluster.clientAddrs,
        credentials: credentials.createInsecure(),
        requestTimeoutMs: 10_000,
        coalesce,
      });
      const puts = Array.from({ length: n }, () => {
        const s = client.session();
        return (k: string, v: string) => s.put(k, v);
      });
      return { puts, close: () => client.close() };
    },
  };
}
const tswarm = tswarmSystem(false);
const tswarmCoalescing = tswarmSystem(true);

const etcd: System = {
  start: () => ProcessCluster.startEtcd(),
  connect(cluster, n) {
    const client = new Etcd3({ hosts: [...cluster.clientAddrs.values()].map((a) => `http://${a}`) });
    const put: PutFn = async (k, v) => {
      await client.put(k).value(v);
    };
    return { puts: Array.from({ length: n }, () => put), close: () => client.close() };
  },
};

async function waitReady(system: System, cluster: ProcessCluster): Promise<void> {
  const probe = system.connect(cluster, 1);
  try {
    await waitFor(() => probe.puts[0]!('ready', 'x').then(() => true), {
      what: `${cluster.kind} cluster ready`,
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 200,
    });
  } finally {
    probe.close();
  }
}

async function measure(system: System, cluster: ProcessCluster, clients: number): Promise<LoadResult> {
  const conn = system.connect(cluster, clients);
  try {
    return await runLoad(conn.puts, VALUE, WARMUP_MS, MEASURE_MS);
  } finally {
    conn.close();
  }
}

/**
 * One repetition: both clusters up (idle ones cost only heartbeats), then each concurrency on
 * tswarm and right after on etcd, so that load from elsewhere on the machine hits both alike.
 */
async function runRep(ts: Results, tc: Results, et: Results): Promise<void> {
  const clusters: ProcessCluster[] = [];
  try {
    const tsCluster = await ProcessCluster.startTswarm();
    clusters.push(tsCluster);
    const etCluster = await ProcessCluster.startEtcd();
    clusters.push(etCluster);
    await waitReady(tswarm, tsCluster);
    await waitReady(etcd, etCluster);
    for (const c of CONCURRENCIES) {
      ts.get(c)!.push(await measure(tswarm, tsCluster, c));
      tc.get(c)!.push(await measure(tswarmCoalescing, tsCluster, c));
      et.get(c)!.push(await measure(etcd, etCluster, c));
    }
  } catch (err) {
    console.error(`raft benchmark failed; member logs were in ${clusters.map((c) => c.dir).join(', ')}`);
    throw err;
  } finally {
    for (const c of clusters) await c.stop();
  }
}

const med = (rs: LoadResult[], f: (r: LoadResult) => number) => summarize(rs.map(f));

function printTable(ts: Results, tc: Results, et: Results): void {
  const fmt = (rs: LoadResult[], f: (r: LoadResult) => number, digits: number) => {
    const s = med(rs, f);
    return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
  };
  console.log(
    `raft writes: 3 members on loopback, 128-byte values, ${REPS} reps x ${MEASURE_MS} ms after ${WARMUP_MS} ms warm-up; median (min-max)`,
  );
  console.log(['clients', 'system', 'writes/s', 'vs etcd', 'p50 ms', 'p99 ms'].join(' | '));
  for (const c of CONCURRENCIES) {
    const etcdRate = med(et.get(c)!, (r) => r.writesPerSec).median;
    const rows: [string, LoadResult[]][] = [
      ['tswarm', ts.get(c)!],
      ['tswarm, coalescing client', tc.get(c)!],
      ['etcd 3.4', et.get(c)!],
    ];
    for (const [name, rs] of rows) {
      const ratio = med(rs, (r) => r.writesPerSec).median / etcdRate;
      console.log(
        [
          c,
          name,
          fmt(rs, (r) => r.writesPerSec, 0),
          `${ratio.toFixed(2)}x`,
          fmt(rs, (r) => r.p50Ms, 2),
          fmt(rs, (r) => r.p99Ms, 2),
        ].join(' | '),
      );
    }
  }
  if (ts.has(1)) {
    const p50Ratio = med(ts.get(1)!, (r) => r.p50Ms).median / med(et.get(1)!, (r) => r.p50Ms).median;
    console.log(`p50 latency at 1 client, tswarm/etcd: ${p50Ratio.toFixed(2)}x (target <= 1.00x)`);
  }
  const errors = [...ts.values(), ...tc.values(), ...et.values()].flat().reduce((n, r) => n + r.errors, 0);
  if (errors > 0) console.log(`failed puts (retried by the next loop iteration): ${errors}`);
}

export async function benchRaft(): Promise<void> {
  const results = (): Results => new Map(CONCURRENCIES.map((c) => [c, []]));
  const [ts, tc, et] = [results(), results(), results()];
  // Both systems share the machine with whatever else runs: say how busy it was.
  const loadBefore = loadavg()[0]!.toFixed(2);
  for (let rep = 0; rep < REPS; rep++) await runRep(ts, tc, et);
  printTable(ts, tc, et);
  console.log(
    `machine: ${cpus().length} CPUs, 1-minute load average ${loadBefore} before, ${loadavg()[0]!.toFixed(2)} after`,
  );
}
