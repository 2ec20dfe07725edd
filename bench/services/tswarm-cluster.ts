import { Lab } from '../../lab/lab.js';
import { formSwarm } from '../../lab/form-swarm.js';
import type { BenchCluster } from './cluster.js';
import { EngineApi } from './engine-api.js';
import { engineRss, labHostPids } from './rss.js';
import { nodeIdsByHostname, pullImage } from './steps.js';

/**
 * tswarm under benchmark: a lab of 3 managers and 3 workers with the lab registry, formed into a
 * swarm as a user would (init on m1, joins), the test image pulled on every host beforehand.
 * Daemons log at warn, as in the other benchmarks: their logs are not what is measured.
 */
export async function tswarmCluster(name: string): Promise<BenchCluster> {
  const lab = await Lab.up({ name, managers: 3, workers: 3, registry: true, logLevel: 'warn' });
  const hosts = new Map(lab.hosts.map((h) => [h.name, new EngineApi(`tswarm ${h.name}`, h.socket)]));
  const down = async () => {
    for (const api of hosts.values()) api.close();
    await lab.down();
  };
  try {
    await formSwarm(lab);
    const image = lab.requireRegistry().image;
    await Promise.all([...hosts.values()].map((api) => pullImage(api, image)));
    const leader = hosts.get('m1')!;
    return {
      label: 'tswarm',
      image,
      leader,
      hosts,
      managers: lab.hosts.filter((h) => h.role === 'manager').map((h) => h.name),
      workers: lab.hosts.filter((h) => h.role === 'worker').map((h) => h.name),
      nodeIds: await nodeIdsByHostname(leader),
      killDaemon: (host) => lab.kill(host),
      startDaemon: (host) => lab.start(host, { logLevel: 'warn' }),
      engineRss: async (host) => engineRss(await labHostPids(name, host)),
      down,
    };
  } catch (err) {
    await down();
    throw err;
  }
}
