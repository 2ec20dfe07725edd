import type { Lab } from '../../lab/lab.js';
import { labPaths } from '../../lab/paths.js';

/** What `tswarm info --format json` says of the swarm, the fields the swarm tests read. */
export interface SwarmInfo {
  localNodeState: string;
  nodeId: string;
  clusterId: string;
  managers: number;
  error: string;
}

/** One row of `tswarm node ls --format json`. */
export interface NodeRow {
  id: string;
  hostname: string;
  status: string;
  role: string;
  managerStatus: string;
}

/** A swarm command can wait for an election or a certificate: bounded well above either. */
const COMMAND_TIMEOUT_MS = 90_000;

/**
 * tswarm's CLI on the hosts of a lab, as the swarm scenario tests drive it: `ok` fails the test
 * with the command's stderr, `info` and `nodeRows` parse the JSON output.
 */
export function swarmCli(lab: () => Lab) {
  const tswarm = (host: string, ...args: string[]) =>
    lab().exec(host, ['tswarm', ...args], { timeoutMs: COMMAND_TIMEOUT_MS });
  const ok = async (host: string, ...args: string[]): Promise<string> => {
    const r = await tswarm(host, ...args);
    if (r.code !== 0) throw new Error(`\`tswarm ${args.join(' ')}\` on ${host} failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    tswarm,
    ok,
    dataDir: (host: string) => labPaths.dataDir(lab().name, host),
    info: async (host: string): Promise<SwarmInfo> =>
      (JSON.parse(await ok(host, 'info', '--format', 'json')) as { server: { swarm: SwarmInfo } }).server.swarm,
    nodeRows: async (host: string): Promise<NodeRow[]> =>
      JSON.parse(await ok(host, 'node', 'ls', '--format', 'json')) as NodeRow[],
  };
}
