import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { formatFields, formatJson, parseFormat } from '../output.js';
import type { DockerInfo, DockerVersion, TswarmInfo } from '../../lib/api-client/swarm-types.js';
import { clientVersion, serverVersion } from './version.js';

function managerOf(m: { NodeID: string; Addr: string } | null | undefined): { nodeId: string; addr: string } | null {
  return m ? { nodeId: m.NodeID, addr: m.Addr } : null;
}

/** A manager in use as a table shows it: its address, and its node ID when known. */
function shownManager(m: { nodeId: string; addr: string } | null): string {
  if (!m) return 'none answering';
  return m.nodeId ? `${m.addr} (${m.nodeId})` : m.addr;
}

/**
 * The daemon as `tswarm info` shows it, from Docker's `/info` and `/version` and tswarm's
 * `/tswarm/info` (what Docker has no field for). `--format json` prints this object.
 */
export function serverInfo(info: DockerInfo, own: TswarmInfo, version: DockerVersion) {
  const s = info.Swarm;
  return {
    hostname: own.Hostname,
    dataDir: own.DataDir,
    namePrefix: own.NamePrefix,
    version: serverVersion(version),
    swarm: {
      localNodeState: s.LocalNodeState,
      nodeId: s.NodeID,
      nodeAddr: own.NodeAddr,
      clusterId: own.ClusterID,
      controlAvailable: s.ControlAvailable,
      error: s.Error,
      remoteManagers: (s.RemoteManagers ?? []).map((m) => m.Addr),
      heartbeatManager: managerOf(own.HeartbeatManager),
      sessionManager: managerOf(own.SessionManager),
      nodes: s.Nodes,
      managers: s.Managers,
    },
    startedAtMs: Date.parse(own.StartedAt),
    pid: own.Pid,
    logLevel: own.LogLevel,
    containers: info.Containers,
    containersRunning: info.ContainersRunning,
    images: info.Images,
    runtime: own.Runtime,
    cgroupLayout: own.CgroupLayout,
    warnings: own.Warnings,
  };
}

function serverFields(info: ReturnType<typeof serverInfo>): [string, string][] {
  const fields: [string, string][] = [
    ['Version', info.version.version],
    ['Hostname', info.hostname],
    ['Data dir', info.dataDir],
    ['Name prefix', info.namePrefix],
    ['PID', String(info.pid)],
    ['Containers', `${info.containers} (${info.containersRunning} running)`],
    ['Images', String(info.images)],
    ['Runtime', info.runtime],
    ['Cgroup layout', info.cgroupLayout],
    ['Swarm', info.swarm.localNodeState],
  ];
  if (info.swarm.nodeId) {
    fields.push(
      ['NodeID', info.swarm.nodeId],
      ['Is Manager', String(info.swarm.controlAvailable)],
      ['ClusterID', info.swarm.clusterId],
      ['Heartbeats to', shownManager(info.swarm.heartbeatManager)],
      ['Session through', shownManager(info.swarm.sessionManager)],
    );
  }
  // As `docker info` does: a swarm in error (a removed node, Raft data refused) says why and what to do.
  if (info.swarm.error) fields.push(['Error', info.swarm.error]);
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
      const api = c.api();
      const [docker, own, version] = await Promise.all([
        api.json<DockerInfo>('GET', '/info'),
        api.json<TswarmInfo>('GET', '/tswarm/info'),
        api.json<DockerVersion>('GET', '/version'),
      ]);
      const info = serverInfo(docker, own, version);
      const client = clientVersion();
      if (format === 'json') return c.out(formatJson({ client, server: info }));
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
