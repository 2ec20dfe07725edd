import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unaryHandler } from '../lib/grpc.js';
import { versionInfo } from '../lib/version.js';
import {
  type SwarmInitRequest,
  type SwarmInitResponse,
  type SwarmJoinRequest,
  type SwarmJoinResponse,
  type SwarmLeaveRequest,
  type SwarmLeaveResponse,
  type InfoRequest,
  type InfoResponse,
  type VersionRequest,
  type VersionResponse,
} from '../gen/tswarm/v1/system.js';
import type { Swarm } from './swarm.js';
import type { Engine } from '../engine/engine.js';

export interface SystemContext {
  hostname: string;
  dataDir: string;
  startedAtMs: number;
  logLevel: string;
  swarm: Swarm;
  engine: Engine;
}

/** The node-local System API: versions, info, and this node's swarm membership. */
export function systemService(ctx: SystemContext): UntypedServiceImplementation {
  return {
    version: unaryHandler<VersionRequest, VersionResponse>(async () => versionInfo()),
    info: unaryHandler<InfoRequest, InfoResponse>(async () => {
      const node = ctx.swarm.node;
      return {
        hostname: ctx.hostname,
        dataDir: ctx.dataDir,
        namePrefix: node.namePrefix,
        version: versionInfo(),
        swarm: ctx.swarm.info(),
        startedAtMs: ctx.startedAtMs,
        pid: process.pid,
        logLevel: ctx.logLevel,
        ...(await ctx.engine.summary()),
      };
    }),
    swarmInit: unaryHandler<SwarmInitRequest, SwarmInitResponse>((req) => ctx.swarm.init(req)),
    swarmJoin: unaryHandler<SwarmJoinRequest, SwarmJoinResponse>((req) => ctx.swarm.join(req)),
    swarmLeave: unaryHandler<SwarmLeaveRequest, SwarmLeaveResponse>(async (req) => {
      await ctx.swarm.leave(req.force);
      return {};
    }),
  };
}
