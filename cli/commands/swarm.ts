import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { TswarmError } from '../../lib/errors.js';
import { parseDurationMs } from '../../lib/duration.js';
import { parseJoinToken } from '../../ca/join-token.js';
import { NODE_CERT_VALIDITY_MS_MIN } from '../../ca/limits.js';
import { NodeAvailability, NodeRole, type ClusterSpec } from '../../gen/lite/tswarm/v1/objects.js';

export const AVAILABILITY: Record<string, NodeAvailability> = {
  active: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
  pause: NodeAvailability.NODE_AVAILABILITY_PAUSE,
  drain: NodeAvailability.NODE_AVAILABILITY_DRAIN,
};

const availabilityOption = () =>
  new Option('--availability <state>', 'availability of this node: active, pause or drain')
    .choices(Object.keys(AVAILABILITY))
    .default('active');

function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) === 0)
      throw new TswarmError('USAGE', `invalid ${flag} "${v}". Use a whole number above 0`);
    return Number(v);
  };
}

interface InitFlags {
  advertiseAddr?: string;
  listenAddr: string;
  certExpiry?: string;
  dispatcherHeartbeat?: string;
  raftTick?: string;
  electionTicks?: number;
  snapshotInterval?: number;
  availability: string;
}

/** Test suites may shorten certificate lifetimes below the 1 h floor to exercise renewal in seconds. */
const TEST_SHORT_CERTS_ENV = 'TSWARM_TEST_ALLOW_SHORT_CERTS';

function initSpec(f: InitFlags): ClusterSpec {
  const certExpiryMs = f.certExpiry ? parseDurationMs(f.certExpiry, '--cert-expiry') : 0;
  if (certExpiryMs !== 0 && certExpiryMs < NODE_CERT_VALIDITY_MS_MIN && process.env[TEST_SHORT_CERTS_ENV] !== '1') {
    throw new TswarmError('USAGE', `--cert-expiry must be at least 1h, got ${f.certExpiry}`);
  }
  const tickMs = f.raftTick ? parseDurationMs(f.raftTick, '--raft-tick') : 0;
  return {
    annotations: undefined,
    orchestration: undefined,
    raft: {
      snapshotInterval: f.snapshotInterval ?? 0,
      keepOldSnapshots: 0,
      heartbeatTick: 0,
      electionTick: f.electionTicks ?? 0,
      tickMs,
    },
    dispatcher: {
      heartbeatPeriodMs: f.dispatcherHeartbeat ? parseDurationMs(f.dispatcherHeartbeat, '--dispatcher-heartbeat') : 0,
    },
    caConfig: { nodeCertExpiryMs: certExpiryMs },
  };
}

function joinCommand(token: string, addr: string): string {
  return `    tswarm join --token ${token} ${addr}\n`;
}

export function registerSwarm(program: Command, ctx: () => CliContext): void {
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
    .addOption(availabilityOption())
    .option(
      '--force-new-cluster',
      'after losing quorum: restart the cluster from this manager’s state, as its only manager',
    )
    .action(async (f: InitFlags & { forceNewCluster?: boolean }) => {
      const c = ctx();
      const spec = initSpec(f);
      const res = await (
        await c.daemon()
      ).swarmInit({
        listenAddr: f.listenAddr,
        advertiseAddr: f.advertiseAddr ?? '',
        forceNewCluster: f.forceNewCluster ?? false,
        spec,
        availability: AVAILABILITY[f.availability]!,
      });
      if (f.forceNewCluster) {
        return c.out(
          `Swarm recovered: current node (${res.nodeId}) is now the only manager, with the cluster's committed state.\nDemote or remove the lost managers (\`tswarm node demote\`), then add managers with 'tswarm join-token manager'.\n`,
        );
      }
      c.out(
        `Swarm initialized: current node (${res.nodeId}) is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n${joinCommand(res.workerJoinToken, res.advertiseAddr)}\nTo add a manager to this swarm, run 'tswarm join-token manager' and follow the instructions.\n`,
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
        const res = await (
          await c.daemon()
        ).swarmJoin({
          token: f.token,
          remoteAddrs: [addr],
          listenAddr: f.listenAddr,
          advertiseAddr: f.advertiseAddr ?? '',
          availability: AVAILABILITY[f.availability]!,
        });
        c.out(`This node joined a swarm as a ${res.role === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker'}.\n`);
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
      const d = await c.daemon();
      let cluster = (await d.cluster.getCluster({ clusterId: '' })).cluster!;
      if (f.rotate) {
        cluster = (
          await d.cluster.updateCluster({
            clusterId: cluster.id,
            clusterVersion: 0,
            spec: cluster.spec,
            rotateWorkerToken: role === 'worker',
            rotateManagerToken: role === 'manager',
          })
        ).cluster!;
        if (!f.quiet) c.out(`Successfully rotated ${role} join token.\n\n`);
      }
      const token = role === 'worker' ? cluster.rootCa!.joinTokens!.worker : cluster.rootCa!.joinTokens!.manager;
      if (f.quiet) return c.out(`${token}\n`);
      const info = await d.info();
      c.out(
        `To add a ${role} to this swarm, run the following command:\n\n${joinCommand(token, info.swarm?.nodeAddr ?? '')}`,
      );
    });

  program
    .command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'leave even as a manager, whatever it does to the cluster')
    .action(async (f: { force?: boolean }) => {
      const c = ctx();
      await (await c.daemon()).swarmLeave(f.force ?? false);
      c.out('Node left the swarm.\n');
    });
}
