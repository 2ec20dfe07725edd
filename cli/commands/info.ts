import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatFields, formatJson, parseFormat } from '../output.js';
import { versionInfo } from '../../lib/version.js';
import { LocalNodeState, type InfoResponse } from '../../gen/lite/tswarm/v1/system.js';

const SWARM_STATE: Record<LocalNodeState, string> = {
  [LocalNodeState.LOCAL_NODE_STATE_UNSPECIFIED]: 'unknown',
  [LocalNodeState.LOCAL_NODE_STATE_INACTIVE]: 'inactive',
  [LocalNodeState.LOCAL_NODE_STATE_PENDING]: 'pending',
  [LocalNodeState.LOCAL_NODE_STATE_ACTIVE]: 'active',
  [LocalNodeState.LOCAL_NODE_STATE_ERROR]: 'error',
  [LocalNodeState.LOCAL_NODE_STATE_LOCKED]: 'locked',
};

export function swarmStateName(info: InfoResponse): string {
  return SWARM_STATE[info.swarm?.localNodeState ?? LocalNodeState.LOCAL_NODE_STATE_UNSPECIFIED];
}

function serverFields(info: InfoResponse): [string, string][] {
  const fields: [string, string][] = [
    ['Version', info.version?.version ?? ''],
    ['Hostname', info.hostname],
    ['Data dir', info.dataDir],
    ['Name prefix', info.namePrefix],
    ['PID', String(info.pid)],
    ['Containers', `${info.containers} (${info.containersRunning} running)`],
    ['Images', String(info.images)],
    ['Runtime', info.runtime],
    ['Cgroup layout', info.cgroupLayout],
    ['Swarm', swarmStateName(info)],
  ];
  if (info.swarm?.nodeId) {
    fields.push(
      ['NodeID', info.swarm.nodeId],
      ['Is Manager', String(info.swarm.controlAvailable)],
      ['ClusterID', info.swarm.clusterId],
    );
  }
  return fields;
}

export function registerInfo(program: Command, ctx: () => CliContext): void {
  program
    .command('info')
    .description('Show the daemon’s node-wide information')
    .option('-f, --format <format>', 'output format: table or json')
    .action(async (opts: { format?: string }) => {
      const format = parseFormat(opts.format);
      const c = ctx();
      const info = await (await c.daemon()).info();
      const client = versionInfo();
      if (format === 'json') {
        c.out(
          formatJson({ client, server: { ...info, swarm: { ...info.swarm, localNodeState: swarmStateName(info) } } }),
        );
        return;
      }
      c.out(
        'Client:\n' +
          formatFields([
            ['Version', client.version],
            ['Host', c.host],
          ]),
      );
      c.out('\nServer:\n' + formatFields(serverFields(info)));
      // On stderr, as docker info prints its warnings: scripts read the fields from stdout.
      for (const w of info.warnings) process.stderr.write(`WARNING: ${w}\n`);
    });
}
