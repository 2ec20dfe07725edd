import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import type { ContainerStats } from '../../gen/tswarm/v1/engine.js';
import type { Engine } from '../../engine/engine.js';
import type { Route } from './router.js';
import { boolParam, containerRef, noSuchContainer } from './params.js';
import { isoTime } from './swarm-shapes.js';

/** Between two samples: the docker CLI takes the CPU percentage from their difference. */
const SAMPLE_GAP_MS = 1_000;
/** Linux's USER_HZ: /proc/stat counts in hundredths of a second. */
const NS_PER_TICK = 10_000_000;

/** The host's CPU time since boot, in ns (Docker's system_cpu_usage), from /proc/stat's first line. */
export async function systemCpuNs(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((sum, v) => sum + Number(v), 0);
  return ticks * NS_PER_TICK;
}

interface Sample {
  stats: ContainerStats | undefined;
  systemNs: number;
  atMs: number;
}

function cpuStats(s: Sample): Record<string, unknown> {
  const total = Number(s.stats?.cpuUsageNs ?? 0);
  return {
    cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: s.systemNs,
    online_cpus: availableParallelism(),
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** Docker's StatsJSON (what `docker stats` reads) from two samples; a stopped container's is zeros. */
export function dockerStats(id: string, name: string, pre: Sample, now: Sample): Record<string, unknown> {
  const st = now.stats;
  const limit = Number(st?.memoryLimitBytes ?? 0);
  return {
    id,
    name: `/${name}`,
    read: isoTime(now.atMs),
    preread: isoTime(pre.atMs),
    pids_stats: st ? { current: Number(st.pids) } : {},
    blkio_stats: {
      io_service_bytes_recursive: null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now),
    precpu_stats: cpuStats(pre),
    memory_stats: st ? { usage: Number(st.memoryBytes), limit: limit > 0 ? limit : totalmem(), stats: {} } : {},
  };
}

async function sample(engine: Engine, id: string): Promise<Sample> {
  const [stats] = await engine.containerStats([id]).catch(() => [undefined]);
  return { stats, systemNs: await systemCpuNs(), atMs: Date.now() };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * `GET /containers/{id}/stats`: with stream=false one answer (two samples a second apart, so the
 * CPU percentage means something; one-shot skips the first); else one a second until the client
 * goes away or the container stops.
 */
export function statsRoute(engine: Engine): Route {
  return {
    method: 'GET',
    path: '/containers/{id}/stats',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const c = noSuchContainer(ref, () => engine.containerInspect(ref)).container!;
      const stream = req.query.get('stream') === null || boolParam(req.query, 'stream');
      const running = () => engine.containerInspect(c.id).container?.state?.status === 'running';
      if (!stream) {
        const empty: Sample = { stats: undefined, systemNs: 0, atMs: 0 };
        let pre = empty;
        if (running() && !boolParam(req.query, 'one-shot')) {
          pre = await sample(engine, c.id);
          await sleep(SAMPLE_GAP_MS, req.signal);
        }
        const now = running() ? await sample(engine, c.id) : { ...empty, atMs: Date.now() };
        return reply.json(200, dockerStats(c.id, c.name, pre, now));
      }
      const sink = reply.stream(200, 'application/json');
      try {
        let pre: Sample = { stats: undefined, systemNs: 0, atMs: 0 };
        while (!sink.closed.aborted) {
          const now = await sample(engine, c.id);
          await sink.write(JSON.stringify(dockerStats(c.id, c.name, pre, now)) + '\n');
          if (!now.stats && !running()) break;
          pre = now;
          await sleep(SAMPLE_GAP_MS, sink.closed);
        }
      } catch {
        // the client went away, or the container was removed
      } finally {
        sink.end();
      }
    },
  };
}
