import { existsSync } from 'node:fs';
import { SystemServiceDefinition } from '../gen/lite/tswarm/v1/system.js';
import type {
  InfoResponse,
  SwarmInitRequest,
  SwarmInitResponse,
  SwarmJoinRequest,
  SwarmJoinResponse,
  VersionResponse,
} from '../gen/lite/tswarm/v1/system.js';
import { ControlServiceDefinition } from '../gen/lite/tswarm/v1/control.js';
import type * as control from '../gen/lite/tswarm/v1/control.js';
import { unixSocketPath } from './daemon-host.js';
import { fromLocalCall, localCallError, unreachable } from './local-call-errors.js';
import { LocalGrpcChannel, type MethodDefinition, type ServiceDefinition } from './local-grpc/channel.js';

/** A local call that takes longer than this means the daemon is stuck, not busy. */
const LOCAL_CALL_DEADLINE_MS = 10_000;
/** Calls that cross the cluster (init waits for an election, join for a certificate). */
const CLUSTER_CALL_DEADLINE_MS = 60_000;

export { resolveHost } from './daemon-host.js';
export { fromLocalCall, localCallError, unreachable } from './local-call-errors.js';

/**
 * The CLI's connection to its local daemon; every failure to connect reads the same way. It
 * speaks gRPC through lib/local-grpc, not grpc-js, so a CLI command starts fast.
 */
export class DaemonClient {
  private readonly channel: LocalGrpcChannel;

  constructor(readonly host: string) {
    const path = unixSocketPath(host);
    if (!existsSync(path)) throw unreachable(host);
    this.channel = new LocalGrpcChannel(path);
  }

  private async call<Req, Res>(
    service: ServiceDefinition,
    method: MethodDefinition<Req, Res>,
    request: Req,
    deadlineMs: number,
  ): Promise<Res> {
    try {
      return await this.channel.unary(service, method, request, deadlineMs);
    } catch (err) {
      throw localCallError(this.host, fromLocalCall(err));
    }
  }

  private controlCall<Req, Res>(method: MethodDefinition<Req, Res>, request: Req): Promise<Res> {
    return this.call(ControlServiceDefinition, method, request, CLUSTER_CALL_DEADLINE_MS);
  }

  /** The cluster-wide API, carried by the daemon to the managers. */
  readonly cluster = {
    getNode: (req: control.GetNodeRequest) => this.controlCall(ControlServiceDefinition.methods.getNode, req),
    listNodes: (req: control.ListNodesRequest) => this.controlCall(ControlServiceDefinition.methods.listNodes, req),
    updateNode: (req: control.UpdateNodeRequest) => this.controlCall(ControlServiceDefinition.methods.updateNode, req),
    removeNode: (req: control.RemoveNodeRequest) => this.controlCall(ControlServiceDefinition.methods.removeNode, req),
    getCluster: (req: control.GetClusterRequest) => this.controlCall(ControlServiceDefinition.methods.getCluster, req),
    updateCluster: (req: control.UpdateClusterRequest) =>
      this.controlCall(ControlServiceDefinition.methods.updateCluster, req),
  };

  swarmInit(req: SwarmInitRequest): Promise<SwarmInitResponse> {
    return this.call(SystemServiceDefinition, SystemServiceDefinition.methods.swarmInit, req, CLUSTER_CALL_DEADLINE_MS);
  }

  swarmJoin(req: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    return this.call(SystemServiceDefinition, SystemServiceDefinition.methods.swarmJoin, req, CLUSTER_CALL_DEADLINE_MS);
  }

  async swarmLeave(force: boolean): Promise<void> {
    await this.call(
      SystemServiceDefinition,
      SystemServiceDefinition.methods.swarmLeave,
      { force },
      CLUSTER_CALL_DEADLINE_MS,
    );
  }

  version(): Promise<VersionResponse> {
    return this.call(SystemServiceDefinition, SystemServiceDefinition.methods.version, {}, LOCAL_CALL_DEADLINE_MS);
  }

  info(): Promise<InfoResponse> {
    return this.call(SystemServiceDefinition, SystemServiceDefinition.methods.info, {}, LOCAL_CALL_DEADLINE_MS);
  }

  close(): void {
    this.channel.close();
  }
}
