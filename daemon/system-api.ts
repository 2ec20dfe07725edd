import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unaryHandler } from '../lib/grpc.js';
import { versionInfo } from '../lib/version.js';
import {
  LocalNodeState,
  type InfoRequest,
  type InfoResponse,
  type VersionRequest,
  type VersionResponse,
} from '../gen/tswarm/v1/system.js';
import type { NodeConfig } from './node-config.js';

export interface SystemContext {
  hostname: string;
  dataDir: string;
  startedAtMs: number;
  logLevel: string;
  node(): NodeConfig;
}

/** The node-local System API. Swarm init/join/leave arrive with the cluster bootstrap. */
export function systemService(ctx: SystemContext): UntypedServiceImplementation {
  return {
    version: unaryHandler<VersionRequest, VersionResponse>(async () => versionInfo()),
    info: unaryHandler<InfoRequest, InfoResponse>(async () => {
      const node = ctx.node();
      const inSwarm = node.nodeId !== '';
      return {
        hostname: ctx.hostname,
        dataDir: ctx.dataDir,
        namePrefix: node.namePrefix,
        version: versionInfo(),
        swarm: {
          localNodeState: inSwarm ? LocalNodeState.LOCAL_NODE_STATE_ACTIVE : LocalNodeState.LOCAL_NODE_STATE_INACTIVE,
          nodeId: node.nodeId,
          nodeAddr: '',
          clusterId: node.clusterId,
          controlAvailable: node.role === 'manager',
          error: '',
          remoteManagers: node.joinAddrs,
          nodes: 0,
          managers: 0,
        },
        startedAtMs: ctx.startedAtMs,
        pid: process.pid,
        logLevel: ctx.logLevel,
        containers: 0,
        containersRunning: 0,
        images: 0,
        runtime: '',
        cgroupLayout: '',
      };
    }),
  };
}
