import { performance } from 'node:perf_hooks';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { ApiClient, CLUSTER_CALL_DEADLINE_MS } from '../lib/api-client/client.js';
import type { DockerInfo, DockerNode, DockerSwarm } from '../lib/api-client/swarm-types.js';
import { waitFor } from '../lib/poll.js';
import { formatMs, summarize } from './stats.js';

/**
 * Bootstrap figures, on the lab: how long `init`, a worker join and a manager join take (the
 * daemon's API call; the CLI adds its own process start, measured once alongside), and leader
 * failover — from SIGKILL of the leader's daemon until a write through a surviving manager
 * succeeds. Baseline in the same run: an Info round trip on the same socket.
 */
const RUNS = 10;
const FAILOVERS = 10;

const client = (lab: Lab, host: string) => new ApiClient(`unix://${lab.hosts.find((h) => h.name === host)!.socket}`);
const cluster = { timeoutMs: CLUSTER_CALL_DEADLINE_MS };

/** Joins the swarm through m1 with `token`, as `tswarm join` does. */
function join(c: ApiClient, token: string, advertiseAddr: string): Promise<void> {
  return c.json('POST', '/swarm/join', {
    ...cluster,
    json: { JoinToken: token, RemoteAddrs: ['192.168.77.11:2377'], ListenAddr: '', AdvertiseAddr: advertiseAddr },
  });
}

const listNodes = (c: ApiClient) => c.json<DockerNode[]>('GET', '/nodes', cluster);

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

async function joinTimes(): Promise<{
  init: number[];
  worker: number[];
  manager: number[];
  info: number[];
  cliInit: number;
}> {
  const out = {
    init: [] as number[],
    worker: [] as number[],
    manager: [] as number[],
    info: [] as number[],
    cliInit: 0,
  };
  for (let i = 0; i < RUNS; i++) {
    const lab = await Lab.up({ name: `bbs${i}`, managers: 2, workers: 1, logLevel: 'warn' });
    const [m1, m2, w1] = [client(lab, 'm1'), client(lab, 'm2'), client(lab, 'w1')];
    try {
      out.info.push((await timed(() => m1.json<DockerInfo>('GET', '/info')))[0]);
      const [tInit] = await timed(() =>
        m1.json<string>('POST', '/swarm/init', {
          ...cluster,
          json: { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '192.168.77.11' },
        }),
      );
      out.init.push(tInit);
      // Docker's init answers the node ID alone; the tokens are the swarm's (not timed).
      const tokens = (await m1.json<DockerSwarm>('GET', '/swarm', cluster)).JoinTokens;
      out.worker.push((await timed(() => join(w1, tokens.Worker, '')))[0]);
      out.manager.push((await timed(() => join(m2, tokens.Manager, '192.168.77.12')))[0]);
      if (i === 0) {
        await w1.json('POST', '/swarm/leave', { ...cluster, query: { force: false } });
        const t0 = performance.now();
        const r = await lab.exec('w1', ['tswarm', 'join', '--token', tokens.Worker, '192.168.77.11:2377']);
        out.cliInit = performance.now() - t0;
        if (r.code !== 0) throw new Error(`tswarm join failed: ${r.stderr}`);
      }
    } finally {
      for (const c of [m1, m2, w1]) c.close();
      await lab.down();
    }
  }
  return out;
}

async function leaderOf(lab: Lab, via: string): Promise<string> {
  const c = client(lab, via);
  try {
    const leader = (await listNodes(c)).find((n) => n.ManagerStatus?.Leader);
    if (!leader) throw new Error('no leader');
    return leader.Description.Hostname;
  } finally {
    c.close();
  }
}

async function failoverTimes(): Promise<number[]> {
  const lab = await Lab.up({ name: 'bfo', managers: 3, workers: 0, logLevel: 'warn' });
  const times: number[] = [];
  try {
    await formSwarm(lab);
    for (let i = 0; i < FAILOVERS; i++) {
      const leader = await waitFor(() => leaderOf(lab, 'm1').catch(() => leaderOf(lab, 'm2')), {
        what: 'a leader',
        timeoutMs: 30_000,
      });
      const survivor = ['m1', 'm2', 'm3'].find((h) => h !== leader)!;
      const c = client(lab, survivor);
      const t0 = performance.now();
      await lab.kill(leader);
      await waitFor(
        async () => {
          const node = await c.json<DockerNode>('GET', `/nodes/${survivor}`, cluster);
          await c.json('POST', `/nodes/${node.ID}/update`, {
            ...cluster,
            query: { version: node.Version.Index },
            json: { ...node.Spec, Labels: { run: String(i) } },
          });
          return true;
        },
        { what: 'a write through a surviving manager', timeoutMs: 30_000, intervalMs: 20 },
      );
      times.push(performance.now() - t0);
      c.close();
      await lab.start(leader);
      await waitFor(
        async () => {
          if ((await leaderOf(lab, survivor)) === '') return false;
          const back = client(lab, leader);
          try {
            return (await back.json<DockerInfo>('GET', '/info')).Swarm.NodeID !== '';
          } finally {
            back.close();
          }
        },
        { what: 'the old leader back', timeoutMs: 30_000 },
      );
      // Let it catch up and be counted reachable before the next round.
      await waitFor(
        async () => {
          const cc = client(lab, survivor);
          try {
            return (await listNodes(cc))
              .filter((n) => n.ManagerStatus)
              .every((n) => n.ManagerStatus!.Leader || n.ManagerStatus!.Reachability === 'reachable');
          } finally {
            cc.close();
          }
        },
        { what: 'all managers reachable', timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  } finally {
    await lab.down();
  }
  return times;
}

export async function benchBootstrap(): Promise<void> {
  const j = await joinTimes();
  const line = (what: string, xs: number[], targetMs: number) => {
    const s = summarize(xs);
    console.log(
      `  ${what.padEnd(14)} ${formatMs(s)}  target ≤ ${targetMs} ms: ${s.median <= targetMs ? 'met' : 'missed'}`,
    );
  };
  console.log('bootstrap on the lab (daemon API call; median of 10)');
  line('init', j.init, 300);
  line('worker join', j.worker, 200);
  line('manager join', j.manager, 300);
  console.log(`  baseline: Info round trip on the same socket, ${formatMs(summarize(j.info))}`);
  console.log(`  for reference, \`tswarm join\` as a command (CLI process start included): ${j.cliInit.toFixed(0)} ms`);
  const f = summarize(await failoverTimes());
  console.log('leader failover (SIGKILL of the leader → a write through a survivor succeeds)');
  console.log(
    `  ${formatMs(f)}  targets: median < 2000 ms ${f.median < 2000 ? 'met' : 'missed'}, max < 4000 ms ${f.max < 4000 ? 'met' : 'missed'}`,
  );
}
