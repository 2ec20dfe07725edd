import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { TswarmError } from '../../lib/errors.js';
import { parseDurationMs } from '../../lib/duration.js';
import { parseJoinToken } from '../../ca/join-token.js';
import { NODE_CERT_VALIDITY_MS_MIN, shortCertsAllowed } from '../../ca/limits.js';
import { CLUSTER_CALL_DEADLINE_MS, type ApiClient } from '../../lib/api-client/client.js';
import type { DockerSwarm, NodeAvailabilityName, TswarmInfo } from '../../lib/api-client/swarm-types.js';
import { registerSwarmCa } from './swarm-ca.js';
import { NS_PER_MS, parseTaskHistoryLimit, positiveInt } from './swarm-flags.js';
import { registerSwarmUpdate } from './swarm-update.js';

export const AVAILABILITIES: readonly NodeAvailabilityName[] = ['active', 'pause', 'drain'];

const availabilityOption = () =>
  new Option('--availability <state>', 'availability of this node: active, pause or drain')
    .choices(AVAILABILITIES)
    .default('active');

interface InitFlags {
  advertiseAddr?: string;
  listenAddr: string;
  certExpiry?: string;
  dispatcherHeartbeat?: string;
  raftTick?: string;
  electionTicks?: number;
  snapshotInterval?: number;
  taskHistoryLimit?: number;
  availability: string;
}

/**
 * Docker's `SwarmSpec` from init's flags; a field left 0 takes the daemon's default. The Raft
 * tick goes in tswarm's own `Raft.TickInterval` (daemon/api/swarm-spec.ts).
 */
export function initSpec(f: InitFlags): Record<string, unknown> {
  const certExpiryMs = f.certExpiry ? parseDurationMs(f.certExpiry, '--cert-expiry') : 0;
  // Also checked by the daemon; here first, in the flag's words, before any traffic.
  if (certExpiryMs !== 0 && certExpiryMs < NODE_CERT_VALIDITY_MS_MIN && !shortCertsAllowed()) {
    throw new TswarmError('USAGE', `--cert-expiry must be at least 1h, got ${f.certExpiry}`);
  }
  const tickMs = f.raftTick ? parseDurationMs(f.raftTick, '--raft-tick') : 0;
  const heartbeatMs = f.dispatcherHeartbeat ? parseDurationMs(f.dispatcherHeartbeat, '--dispatcher-heartbeat') : 0;
  return {
    Raft: {
      SnapshotInterval: f.snapshotInterval ?? 0,
      ElectionTick: f.electionTicks ?? 0,
      TickInterval: tickMs * NS_PER_MS,
    },
    Dispatcher: { HeartbeatPeriod: heartbeatMs * NS_PER_MS },
    ...(f.taskHistoryLimit !== undefined ? { Orchestration: { TaskHistoryRetentionLimit: f.taskHistoryLimit } } : {}),
    CAConfig: { NodeCertExpiry: certExpiryMs * NS_PER_MS },
  };
}

function joinCommand(token: string, addr: string): string {
  return `    tswarm join --token ${token} ${addr}\n`;
}

/** The address this node advertises, with its port: where the printed join commands point. */
async function advertisedAddr(api: ApiClient): Promise<string> {
  return (await api.json<TswarmInfo>('GET', '/tswarm/info')).NodeAddr;
}

/**
 * Whether this node is now a manager, from `/_ping`'s `Swarm` header (`active/manager`), as
 * dockerd tells its clients. Not Info's ControlAvailable: a manager that just joined has that
 * only once its copy of the store has caught up.
 */
async function isManager(api: ApiClient): Promise<boolean> {
  const res = await api.request('GET', '/_ping', { timeoutMs: CLUSTER_CALL_DEADLINE_MS });
  res.resume();
  return res.headers['swarm'] === 'active/manager';
}

export function registerSwarm(program: Command, ctx: () => CliContext): void {
  const swarm = program.command('swarm').description('Manage the swarm');
  registerSwarmCa(swarm, ctx);
  registerSwarmUpdate(swarm, ctx);
  program
    .command('init')
    .description('Create a swarm with this node as its first manager')
    .option(
      '--advertise-addr <addr[:port]>',
      'address other nodes reach this manager at (needed when the host has several)',
    )
    .option('--listen-addr <addr[:port]>', 'address to listen on for cluster traffic', '0.0.0.0:2377')
    .option('--cert-expiry <duration>', 'lifetime of node certificates (at least 1h)', '2160h')
    .option('--dispatcher-heartbeat <duration>', 'how often nodes send heartbeats', '1s')
    .option('--raft-tick <duration>', 'Raft tick interval', '100ms')
    .option('--election-ticks <n>', 'ticks without a leader before an election', positiveInt('--election-ticks'))
    .option('--snapshot-interval <n>', 'Raft entries between snapshots', positiveInt('--snapshot-interval'))
    .option(
      '--task-history-limit <n>',
      'tasks kept per slot, the running one included (default 5)',
      parseTaskHistoryLimit,
    )
    .addOption(availabilityOption())
    .option(
      '--force-new-cluster',
      'after losing quorum: restart the cluster from this manager’s state, as its only manager',
    )
    .action(async (f: InitFlags & { forceNewCluster?: boolean }) => {
      const c = ctx();
      const spec = initSpec(f);
      const api = c.api();
      const nodeId = await api.json<string>('POST', '/swarm/init', {
        json: {
          ListenAddr: f.listenAddr,
          AdvertiseAddr: f.advertiseAddr ?? '',
          ForceNewCluster: f.forceNewCluster ?? false,
          Availability: f.availability,
          Spec: spec,
        },
        timeoutMs: CLUSTER_CALL_DEADLINE_MS,
      });
      if (f.forceNewCluster) {
        return c.out(
          `Swarm recovered: current node (${nodeId}) is now the only manager, with the cluster's committed state.\nDemote or remove the lost managers (\`tswarm node demote\`), then add managers with 'tswarm join-token manager'.\n`,
        );
      }
      const [swarm, addr] = await Promise.all([
        api.json<DockerSwarm>('GET', '/swarm', { timeoutMs: CLUSTER_CALL_DEADLINE_MS }),
        advertisedAddr(api),
      ]);
      c.out(
        `Swarm initialized: current node (${nodeId}) is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n${joinCommand(swarm.JoinTokens.Worker, addr)}\nTo add a manager to this swarm, run 'tswarm join-token manager' and follow the instructions.\n`,
      );
    });

  program
    .command('join')
    .description('Join a swarm as a worker or a manager, depending on the token')
    .argument('<addr[:port]>', 'address of a manager')
    .requiredOption('--token <token>', 'the join token (`tswarm join-token worker|manager` on a manager)')
    .option('--advertise-addr <addr[:port]>', 'address other nodes reach this node at (managers)')
    .option('--listen-addr <addr[:port]>', 'address to listen on (managers)', '0.0.0.0:2377')
    .addOption(availabilityOption())
    .action(
      async (addr: string, f: { token: string; advertiseAddr?: string; listenAddr: string; availability: string }) => {
        // Checked here, before any traffic: a mistyped token is never mistaken for a wrong cluster.
        parseJoinToken(f.token);
        const c = ctx();
        const api = c.api();
        await api.json('POST', '/swarm/join', {
          json: {
            JoinToken: f.token,
            RemoteAddrs: [addr],
            ListenAddr: f.listenAddr,
            AdvertiseAddr: f.advertiseAddr ?? '',
            Availability: f.availability,
          },
          timeoutMs: CLUSTER_CALL_DEADLINE_MS,
        });
        c.out(`This node joined a swarm as a ${(await isManager(api)) ? 'manager' : 'worker'}.\n`);
      },
    );

  program
    .command('join-token')
    .description('Show (or rotate) the token for joining as a worker or a manager')
    .argument('<role>', 'worker or manager')
    .option('-q, --quiet', 'print only the token')
    .option('--rotate', 'replace the token: the old one stops working for new joins')
    .action(async (role: string, f: { quiet?: boolean; rotate?: boolean }) => {
      if (role !== 'worker' && role !== 'manager')
        throw new TswarmError('USAGE', `unknown role "${role}". Use worker or manager`);
      const c = ctx();
      const api = c.api();
      const readSwarm = () => api.json<DockerSwarm>('GET', '/swarm', { timeoutMs: CLUSTER_CALL_DEADLINE_MS });
      let swarm = await readSwarm();
      if (f.rotate) {
        // The spec as it was read, at the version it was read: the update changes only the token.
        await api.json('POST', '/swarm/update', {
          query: {
            version: swarm.Version.Index,
            rotateWorkerToken: role === 'worker',
            rotateManagerToken: role === 'manager',
          },
          json: swarm.Spec,
          timeoutMs: CLUSTER_CALL_DEADLINE_MS,
        });
        swarm = await readSwarm();
        if (!f.quiet) c.out(`Successfully rotated ${role} join token.\n\n`);
      }
      const token = role === 'worker' ? swarm.JoinTokens.Worker : swarm.JoinTokens.Manager;
      if (f.quiet) return c.out(`${token}\n`);
      c.out(
        `To add a ${role} to this swarm, run the following command:\n\n${joinCommand(token, await advertisedAddr(api))}`,
      );
    });

  program
    .command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'leave even as a manager, whatever it does to the cluster')
    .action(async (f: { force?: boolean }) => {
      const c = ctx();
      await c
        .api()
        .json('POST', '/swarm/leave', { query: { force: f.force ?? false }, timeoutMs: CLUSTER_CALL_DEADLINE_MS });
      c.out('Node left the swarm.\n');
    });
}
