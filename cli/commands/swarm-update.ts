import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { TswarmError } from '../../lib/errors.js';
import { NS_PER_MS, parseTaskHistoryLimit, positiveInt } from './swarm-flags.js';
import { parseDurationMs } from '../../lib/duration.js';
import { CLUSTER_CALL_DEADLINE_MS } from '../../lib/api-client/client.js';
import type { DockerSwarm } from '../../lib/api-client/swarm-types.js';

interface UpdateFlags {
  taskHistoryLimit?: number;
  snapshotInterval?: number;
  dispatcherHeartbeat?: string;
  certExpiry?: string;
}

type SpecSection = Record<string, unknown>;

/**
 * The swarm spec with the flags given applied over the one read, as `docker swarm update` sends
 * it: what no flag names keeps its value (the daemon merges the same way, daemon/api/swarm-spec.ts).
 */
export function updatedSwarmSpec(current: Record<string, unknown>, f: UpdateFlags): Record<string, unknown> {
  const section = (name: string) => ({ ...((current[name] as SpecSection | undefined) ?? {}) });
  const spec = { ...current };
  if (f.taskHistoryLimit !== undefined)
    spec['Orchestration'] = { ...section('Orchestration'), TaskHistoryRetentionLimit: f.taskHistoryLimit };
  if (f.snapshotInterval !== undefined) spec['Raft'] = { ...section('Raft'), SnapshotInterval: f.snapshotInterval };
  if (f.dispatcherHeartbeat !== undefined)
    spec['Dispatcher'] = {
      ...section('Dispatcher'),
      HeartbeatPeriod: parseDurationMs(f.dispatcherHeartbeat, '--dispatcher-heartbeat') * NS_PER_MS,
    };
  if (f.certExpiry !== undefined)
    spec['CAConfig'] = {
      ...section('CAConfig'),
      NodeCertExpiry: parseDurationMs(f.certExpiry, '--cert-expiry') * NS_PER_MS,
    };
  return spec;
}

/** `tswarm swarm update`: change the swarm's settings, as `docker swarm update`. */
export function registerSwarmUpdate(swarm: Command, ctx: () => CliContext): void {
  swarm
    .command('update')
    .description('Update the swarm’s settings')
    .option('--task-history-limit <n>', 'tasks kept per slot, the running one included', parseTaskHistoryLimit)
    .option('--snapshot-interval <n>', 'Raft entries between snapshots', positiveInt('--snapshot-interval'))
    .option('--dispatcher-heartbeat <duration>', 'how often nodes send heartbeats, e.g. 1s')
    .option('--cert-expiry <duration>', 'lifetime of node certificates (at least 1h), e.g. 2160h')
    .action(async (f: UpdateFlags) => {
      if (Object.values(f).every((v) => v === undefined))
        throw new TswarmError(
          'USAGE',
          'nothing to update. Give at least one of --task-history-limit, --snapshot-interval, --dispatcher-heartbeat, --cert-expiry',
        );
      const c = ctx();
      const api = c.api();
      const current = await api.json<DockerSwarm>('GET', '/swarm', { timeoutMs: CLUSTER_CALL_DEADLINE_MS });
      await api.json('POST', '/swarm/update', {
        query: { version: current.Version.Index },
        json: updatedSwarmSpec(current.Spec, f),
        timeoutMs: CLUSTER_CALL_DEADLINE_MS,
      });
      c.out('Swarm updated.\n');
    });
}
