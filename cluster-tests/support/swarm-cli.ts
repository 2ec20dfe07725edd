import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab } from '../../lab/lab.js';
import { labPaths } from '../../lab/paths.js';
import { parseNodeCertificate } from '../../ca/node-certificate.js';
import { waitFor } from '../../lib/poll.js';

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
  const dataDir = (host: string) => labPaths.dataDir(lab().name, host);
  const nodeRows = async (host: string): Promise<NodeRow[]> =>
    JSON.parse(await ok(host, 'node', 'ls', '--format', 'json')) as NodeRow[];
  /** `node ls` on `host`, by hostname (the lab's host names). */
  const byHost = async (host: string): Promise<Record<string, NodeRow>> =>
    Object.fromEntries((await nodeRows(host)).map((r) => [r.hostname, r]));
  return {
    tswarm,
    ok,
    dataDir,
    nodeRows,
    byHost,
    info: async (host: string): Promise<SwarmInfo> =>
      (JSON.parse(await ok(host, 'info', '--format', 'json')) as { server: { swarm: SwarmInfo } }).server.swarm,
    /** The role in `host`'s certificate on disk, or undefined when it holds none. */
    certificateRole: async (host: string): Promise<string | undefined> => {
      const pem = await readFile(join(dataDir(host), 'certificates', 'node.pem'), 'utf8').catch(() => undefined);
      return pem === undefined ? undefined : parseNodeCertificate(pem).identity.role;
    },
    /** `init` on the first host; the others join as managers through it; waits until all are Ready and reachable. */
    formManagers: async (first: string, firstAddr: string, others: readonly string[]): Promise<void> => {
      await ok(first, 'init');
      const token = (await ok(first, 'join-token', 'manager', '-q')).trim();
      for (const h of others) await ok(h, 'join', '--token', token, firstAddr);
      await waitFor(
        async () => {
          const rows = await byHost(first);
          return others.every((h) => rows[h]?.status === 'Ready' && rows[h]?.managerStatus === 'Reachable');
        },
        { what: `${others.join(' and ')} Ready, reachable managers`, timeoutMs: COMMAND_TIMEOUT_MS, intervalMs: 500 },
      );
    },
  };
}
