import { Lab } from '../../lab/lab.js';
import type { HostState } from '../../lab/state.js';
import type { BenchCluster } from '../services/cluster.js';
import { engineRss, labHostPids } from '../services/rss.js';
import { nodeIdsByHostname, pullImage, waitNodesReady } from '../services/steps.js';
import { bootSwarmHost, killDockerd, removeCgroupParent, restartDockerd, type SwarmHost } from './host.js';

/**
 * Docker Swarm under benchmark, on a lab of its own (3 managers, 3 workers, the lab registry):
 * every host's tswarmd is stopped, then each host gets a containerd and a dockerd (host.ts), and
 * they form a swarm through the Engine API as `docker swarm init/join` would, with Docker's
 * default timings (dispatcher heartbeat 5 s, Raft tick 1 s). The test image is pulled on every
 * host beforehand, from the same lab registry tswarm pulls from.
 */
const SWARM_PORT = 2377;
const FORM_TIMEOUT_MS = 120_000;

async function formSwarm(hosts: readonly SwarmHost[], isManager: (host: string) => boolean): Promise<void> {
  const [first, ...rest] = hosts;
  const listen = `0.0.0.0:${SWARM_PORT}`;
  await first!.api.call('POST', '/swarm/init', { body: { ListenAddr: listen, AdvertiseAddr: first!.addr } });
  const { JoinTokens } = await first!.api.call<{ JoinTokens: { Worker: string; Manager: string } }>('GET', '/swarm');
  const remote = [`${first!.addr}:${SWARM_PORT}`];
  // One at a time, managers first (lab hosts come m1…, w1…): Raft takes one membership change at a time.
  for (const h of rest) {
    const token = isManager(h.name) ? JoinTokens.Manager : JoinTokens.Worker;
    await h.api.call('POST', '/swarm/join', {
      body: { ListenAddr: listen, AdvertiseAddr: h.addr, RemoteAddrs: remote, JoinToken: token },
      timeoutMs: FORM_TIMEOUT_MS,
    });
  }
  await waitNodesReady(first!.api, hosts.length, FORM_TIMEOUT_MS);
}

export async function swarmCluster(name: string): Promise<BenchCluster> {
  const lab = await Lab.up({ name, managers: 3, workers: 3, registry: true, logLevel: 'warn' });
  const labHosts = new Map<string, HostState>(lab.hosts.map((h) => [h.name, h]));
  const swarm = new Map<string, SwarmHost>();
  const down = async () => {
    for (const h of swarm.values()) h.api.close();
    await lab.down();
    for (const h of lab.hosts) await removeCgroupParent(name, h);
  };
  try {
    for (const h of lab.hosts) await lab.stop(h.name);
    const registry = lab.requireRegistry();
    const booted = await Promise.all(lab.hosts.map((h) => bootSwarmHost(name, h, registry.host)));
    for (const h of booted) swarm.set(h.name, h);
    await formSwarm(booted, (host) => labHosts.get(host)?.role === 'manager');
    await Promise.all(booted.map((h) => pullImage(h.api, registry.image)));
    const leader = swarm.get('m1')!.api;
    return {
      label: 'Docker Swarm',
      image: registry.image,
      leader,
      hosts: new Map([...swarm].map(([n, h]) => [n, h.api])),
      managers: lab.hosts.filter((h) => h.role === 'manager').map((h) => h.name),
      workers: lab.hosts.filter((h) => h.role === 'worker').map((h) => h.name),
      nodeIds: await nodeIdsByHostname(leader),
      killDaemon: async (host) => killDockerd(swarm.get(host)!),
      startDaemon: (host) => restartDockerd(name, labHosts.get(host)!, swarm.get(host)!),
      engineRss: async (host) => engineRss(await labHostPids(name, host)),
      down,
    };
  } catch (err) {
    await down();
    throw err;
  }
}
