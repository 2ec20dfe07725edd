import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { SystemServiceClient } from '../gen/tswarm/v1/system.js';
import type { InfoResponse, SwarmInitRequest, SwarmInitResponse, SwarmJoinRequest, SwarmJoinResponse, VersionResponse } from '../gen/tswarm/v1/system.js';
import { ControlServiceClient } from '../gen/tswarm/v1/control.js';
import type * as control from '../gen/tswarm/v1/control.js';
import { callUnary, DEFAULT_HOST, unixSocketPath } from './grpc.js';
import { ERROR_CODE_METADATA_KEY, TswarmError } from './errors.js';

/** A local call that takes longer than this means the daemon is stuck, not busy. */
const LOCAL_CALL_DEADLINE_MS = 10_000;
/** Calls that cross the cluster (init waits for an election, join for a certificate). */
const CLUSTER_CALL_DEADLINE_MS = 60_000;

/** The daemon address: --host, else TSWARM_HOST, else the default socket (as DOCKER_HOST works). */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['TSWARM_HOST'] ?? DEFAULT_HOST;
}

/**
 * How a failed call on the local socket reads: a socket nobody answers on is "cannot reach
 * tswarmd"; an error the daemon itself sent (even UNAVAILABLE: no leader, registry down) keeps
 * its own code and message.
 */
export function localCallError(host: string, err: unknown): unknown {
  if (err instanceof TswarmError && err.code === 'UNAVAILABLE' && !sentByDaemon(err)) {
    if (/EACCES|permission denied/i.test(err.message)) {
      return new TswarmError('PERMISSION_DENIED', `permission denied on ${host}. Run as root or as a member of the tswarm group`, { cause: err });
    }
    return unreachable(host, err);
  }
  return err;
}

function sentByDaemon(err: TswarmError): boolean {
  const cause = err.cause as ServiceError | undefined;
  return (cause?.metadata?.get(ERROR_CODE_METADATA_KEY).length ?? 0) > 0;
}

export function unreachable(host: string, cause?: unknown): TswarmError {
  return new TswarmError('DAEMON_UNREACHABLE', `cannot reach tswarmd at ${host}. Is it running? Start it with \`tswarmd\` (see README)`, { cause });
}

/** The CLI's connection to its local daemon; every failure to connect reads the same way. */
export class DaemonClient {
  private readonly system: SystemServiceClient;
  private readonly control: ControlServiceClient;

  constructor(readonly host: string) {
    const path = unixSocketPath(host);
    if (!existsSync(path)) throw unreachable(host);
    this.system = new SystemServiceClient(`unix://${path}`, credentials.createInsecure());
    this.control = new ControlServiceClient(`unix://${path}`, credentials.createInsecure());
  }

  private controlCall<Req, Res>(method: (req: Req, md: Metadata, opts: object, cb: (e: ServiceError | null, r: Res) => void) => unknown, request: Req): Promise<Res> {
    return this.call(() => callUnary(method, new Metadata(), request, CLUSTER_CALL_DEADLINE_MS));
  }

  /** The cluster-wide API, carried by the daemon to the managers. */
  readonly cluster = {
    getNode: (req: control.GetNodeRequest) => this.controlCall(this.control.getNode.bind(this.control), req),
    listNodes: (req: control.ListNodesRequest) => this.controlCall(this.control.listNodes.bind(this.control), req),
    updateNode: (req: control.UpdateNodeRequest) => this.controlCall(this.control.updateNode.bind(this.control), req),
    removeNode: (req: control.RemoveNodeRequest) => this.controlCall(this.control.removeNode.bind(this.control), req),
    getCluster: (req: control.GetClusterRequest) => this.controlCall(this.control.getCluster.bind(this.control), req),
    updateCluster: (req: control.UpdateClusterRequest) => this.controlCall(this.control.updateCluster.bind(this.control), req),
  };

  swarmInit(req: SwarmInitRequest): Promise<SwarmInitResponse> {
    return this.call(() => callUnary(this.system.swarmInit.bind(this.system), new Metadata(), req, CLUSTER_CALL_DEADLINE_MS));
  }

  swarmJoin(req: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    return this.call(() => callUnary(this.system.swarmJoin.bind(this.system), new Metadata(), req, CLUSTER_CALL_DEADLINE_MS));
  }

  swarmLeave(force: boolean): Promise<void> {
    return this.call(async () => {
      await callUnary(this.system.swarmLeave.bind(this.system), new Metadata(), { force }, CLUSTER_CALL_DEADLINE_MS);
    });
  }

  private async call<Res>(fn: () => Promise<Res>): Promise<Res> {
    try {
      return await fn();
    } catch (err) {
      throw localCallError(this.host, err);
    }
  }


  version(): Promise<VersionResponse> {
    return this.call(() => callUnary(this.system.version.bind(this.system), new Metadata(), {}, LOCAL_CALL_DEADLINE_MS));
  }

  info(): Promise<InfoResponse> {
    return this.call(() => callUnary(this.system.info.bind(this.system), new Metadata(), {}, LOCAL_CALL_DEADLINE_MS));
  }

  close(): void {
    this.system.close();
    this.control.close();
  }
}
