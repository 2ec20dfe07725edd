import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  CAServiceService,
  NodeCAServiceService,
  type GetRootCACertificateRequest,
  type GetRootCACertificateResponse,
  type IssueNodeCertificateRequest,
  type IssueNodeCertificateResponse,
  type NodeCertificateStatusRequest,
  type NodeCertificateStatusResponse,
} from '../gen/tswarm/v1/ca.js';
import * as control from '../gen/tswarm/v1/control.js';
import {
  DispatcherServiceService,
  type AssignmentsRequest,
  type AssignmentsResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type SessionRequest,
  type SessionResponse,
  type UpdateTaskStatusRequest,
  type UpdateTaskStatusResponse,
} from '../gen/tswarm/v1/dispatcher.js';
import {
  RaftMembershipServiceService,
  type JoinRaftRequest,
  type JoinRaftResponse,
  type LeaveRaftRequest,
  type LeaveRaftResponse,
} from '../gen/tswarm/v1/raft.js';
import {
  LogBrokerServiceService,
  type ListenSubscriptionsRequest,
  type ListenSubscriptionsResponse,
  type PublishLogsRequest,
  type PublishLogsResponse,
} from '../gen/tswarm/v1/logbroker.js';
import {
  FORWARDED_FOR_METADATA_KEY,
  secureClientStream,
  secureServerStream,
  secureUnary,
  type Allowed,
  type Caller,
  type MembershipView,
} from './authz/authz.js';
import { AnonymousRateLimiter } from './authz/anonymous-gate.js';
import { systemClock } from '../lib/clock.js';
import { requestIdOf } from '../lib/request-id.js';
import { streamSink, type StreamSink } from '../lib/grpc.js';
import type { LeaderForwarder } from './forward.js';

/**
 * Who may call each network-facing method, declared once beside the services so a reviewer reads
 * the whole policy in one table, and a method without an entry fails at startup instead of being
 * open. The join endpoints are the only ones open to a caller without a certificate.
 */
const ANY: readonly Allowed[] = ['anonymous', 'worker', 'manager'];
const NODES: readonly Allowed[] = ['worker', 'manager'];
const MANAGERS: readonly Allowed[] = ['manager'];

export const POLICIES = {
  'tswarm.v1.CAService': { getRootCaCertificate: ANY },
  'tswarm.v1.NodeCAService': { issueNodeCertificate: ANY, nodeCertificateStatus: NODES },
  'tswarm.v1.DispatcherService': { heartbeat: NODES, session: NODES, assignments: NODES, updateTaskStatus: NODES },
  // joinRaft: a promoted worker still holds the worker role until it is in Raft; the handler
  // checks that the cluster wants it as a manager.
  'tswarm.v1.RaftMembershipService': { joinRaft: NODES, leaveRaft: MANAGERS },
  // Every node runs tasks (managers too): each listens for log subscriptions and publishes its tasks' lines.
  'tswarm.v1.LogBrokerService': { listenSubscriptions: NODES, publishLogs: NODES },
  'tswarm.v1.ControlService': {
    getNode: MANAGERS,
    listNodes: MANAGERS,
    updateNode: MANAGERS,
    removeNode: MANAGERS,
    getCluster: MANAGERS,
    listClusters: MANAGERS,
    updateCluster: MANAGERS,
    getService: MANAGERS,
    listServices: MANAGERS,
    createService: MANAGERS,
    updateService: MANAGERS,
    removeService: MANAGERS,
    getTask: MANAGERS,
    listTasks: MANAGERS,
    serviceLogs: MANAGERS,
  },
} as const;

/** What a handler learns of its call beyond the request and the caller. */
export interface CallContext {
  /**
   * The request's ID: the one the call carried (a retry, or a write forwarded by a follower), or
   * a fresh one. A write passes it to Store.update so a retried request is applied at most once.
   */
  requestId: string;
}

/**
 * The handlers each service needs; `leaderOnly` ones run on the leader and are forwarded there,
 * `reads` run on whichever manager received them once `readBarrier` confirmed its copy is current.
 */
export interface ManagerHandlers {
  isLeader: () => boolean;
  /**
   * Resolves once this manager's store holds every write committed before the call (a Raft
   * ReadIndex confirmed by the leader's quorum): a read served after it is linearizable.
   */
  readBarrier: () => Promise<void>;
  rootCaPem: () => string;
  issueCertificate: (req: IssueNodeCertificateRequest, caller: Caller) => Promise<IssueNodeCertificateResponse>;
  certificateStatus: (req: NodeCertificateStatusRequest, caller: Caller) => Promise<NodeCertificateStatusResponse>;
  heartbeat: (req: HeartbeatRequest, caller: Caller) => Promise<HeartbeatResponse>;
  session: (req: SessionRequest, caller: Caller, sink: StreamSink<SessionResponse>) => Promise<void>;
  assignments: (req: AssignmentsRequest, caller: Caller, sink: StreamSink<AssignmentsResponse>) => Promise<void>;
  updateTaskStatus: (req: UpdateTaskStatusRequest, caller: Caller) => Promise<UpdateTaskStatusResponse>;
  listenSubscriptions: (
    req: ListenSubscriptionsRequest,
    caller: Caller,
    sink: StreamSink<ListenSubscriptionsResponse>,
  ) => Promise<void>;
  publishLogs: (requests: AsyncIterable<PublishLogsRequest>, caller: Caller) => Promise<PublishLogsResponse>;
  joinRaft: (req: JoinRaftRequest, caller: Caller) => Promise<JoinRaftResponse>;
  leaveRaft: (req: LeaveRaftRequest, caller: Caller) => Promise<LeaveRaftResponse>;
  control: {
    getNode: (req: control.GetNodeRequest) => Promise<control.GetNodeResponse>;
    listNodes: (req: control.ListNodesRequest) => Promise<control.ListNodesResponse>;
    updateNode: (
      req: control.UpdateNodeRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.UpdateNodeResponse>;
    removeNode: (
      req: control.RemoveNodeRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.RemoveNodeResponse>;
    getCluster: (req: control.GetClusterRequest) => Promise<control.GetClusterResponse>;
    listClusters: (req: control.ListClustersRequest) => Promise<control.ListClustersResponse>;
    updateCluster: (
      req: control.UpdateClusterRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.UpdateClusterResponse>;
    getService: (req: control.GetServiceRequest) => Promise<control.GetServiceResponse>;
    listServices: (req: control.ListServicesRequest) => Promise<control.ListServicesResponse>;
    createService: (
      req: control.CreateServiceRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.CreateServiceResponse>;
    updateService: (
      req: control.UpdateServiceRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.UpdateServiceResponse>;
    removeService: (
      req: control.RemoveServiceRequest,
      caller: Caller,
      call: CallContext,
    ) => Promise<control.RemoveServiceResponse>;
    getTask: (req: control.GetTaskRequest) => Promise<control.GetTaskResponse>;
    listTasks: (req: control.ListTasksRequest) => Promise<control.ListTasksResponse>;
    serviceLogs: (
      req: control.ServiceLogsRequest,
      caller: Caller,
      sink: StreamSink<control.ServiceLogsResponse>,
    ) => Promise<void>;
  };
}

/** The control API's reads: served by any manager after a ReadIndex, never forwarded (docs/raft.md, ReadIndex). */
export const CONTROL_READS = [
  'getNode',
  'listNodes',
  'getCluster',
  'listClusters',
  'getService',
  'listServices',
  'getTask',
  'listTasks',
] as const;

/** The third argument: a unary call's CallContext, or a stream's sink. */
type Handler = (req: never, caller: Caller, call: never) => Promise<unknown>;

/** How the methods of one service run: where (leader or here) and after what (a read barrier). */
interface Placement {
  leaderOnly: ReadonlySet<string>;
  reads: ReadonlySet<string>;
}

/**
 * Builds a service implementation: every method authorized by its policy; methods that change or
 * need the leader's state run on the leader, forwarded there from a follower with the call's
 * request ID; reads run here after the read barrier.
 */
function build(
  definition: ServiceDefinition,
  serviceName: keyof typeof POLICIES,
  handlers: Record<string, Handler>,
  placement: Placement,
  membership: MembershipView,
  h: Pick<ManagerHandlers, 'isLeader' | 'readBarrier'>,
  forwarder: LeaderForwarder,
  anonymous: AnonymousRateLimiter,
): UntypedServiceImplementation {
  const policy = POLICIES[serviceName] as Record<string, readonly Allowed[]>;
  const impl: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const allowed = policy[method];
    if (!allowed) throw new Error(`${serviceName}.${method} has no authorization policy`);
    if (definition[method]?.requestStream) {
      // A client stream (a node's PublishLogs): authorized before its first message, forwarded whole.
      impl[method] = secureClientStream(
        `${serviceName}.${method}`,
        allowed,
        membership,
        async (requests, caller, call) => {
          if (placement.leaderOnly.has(method) && !h.isLeader())
            return forwarder.forwardClientStream(
              definition,
              serviceName,
              method,
              requests,
              caller,
              cancelledSignal(call),
            );
          return handler(requests as never, caller, undefined as never);
        },
      );
      continue;
    }
    if (definition[method]?.responseStream) {
      // A stream is authorized as a unary call is, and carried to the leader the same way.
      impl[method] = secureServerStream(`${serviceName}.${method}`, allowed, membership, async (req, caller, call) => {
        const sink = streamSink(call);
        if (placement.leaderOnly.has(method) && !h.isLeader())
          return forwarder.forwardStream(definition, serviceName, method, req, caller, sink);
        await handler(req as never, caller, sink as never);
      });
      continue;
    }
    impl[method] = secureUnary(`${serviceName}.${method}`, allowed, membership, async (req: unknown, caller, call) => {
      // Anonymous calls are limited where they enter the cluster; a forwarded one was admitted there.
      const forwarded = call.metadata?.get(FORWARDED_FOR_METADATA_KEY)[0];
      if (caller.kind === 'anonymous' && !forwarded) anonymous.admit(call.getPeer());
      const requestId = requestIdOf(call.metadata);
      if (placement.leaderOnly.has(method) && !h.isLeader())
        return forwarder.forward(definition, serviceName, method, req, caller, requestId);
      if (placement.reads.has(method)) await h.readBarrier();
      return handler(req as never, caller, { requestId } as never);
    });
  }
  return impl;
}

/** Aborts when the caller of a client stream goes away. */
function cancelledSignal(call: { on(event: 'cancelled', listener: () => void): unknown }): AbortSignal {
  const aborter = new AbortController();
  call.on('cancelled', () => aborter.abort());
  return aborter.signal;
}

export interface BuiltServices {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export function managerServices(
  h: ManagerHandlers,
  membership: MembershipView,
  forwarder: LeaderForwarder,
  anonymous: AnonymousRateLimiter = new AnonymousRateLimiter(systemClock),
): BuiltServices[] {
  const mk = (
    definition: ServiceDefinition,
    name: keyof typeof POLICIES,
    handlers: Record<string, Handler>,
    leaderOnly: readonly string[],
    reads: readonly string[] = [],
  ): BuiltServices => {
    const placement = { leaderOnly: new Set(leaderOnly), reads: new Set(reads) };
    return {
      definition,
      implementation: build(definition, name, handlers, placement, membership, h, forwarder, anonymous),
    };
  };
  const controlReads: ReadonlySet<string> = new Set(CONTROL_READS);
  const rootCa = async (): Promise<GetRootCACertificateResponse> => ({ certificatePem: Buffer.from(h.rootCaPem()) });
  return [
    mk(
      CAServiceService,
      'tswarm.v1.CAService',
      { getRootCaCertificate: async (_req: GetRootCACertificateRequest) => rootCa() },
      [],
    ),
    mk(
      NodeCAServiceService,
      'tswarm.v1.NodeCAService',
      { issueNodeCertificate: h.issueCertificate, nodeCertificateStatus: h.certificateStatus },
      ['issueNodeCertificate'],
    ),
    mk(
      DispatcherServiceService,
      'tswarm.v1.DispatcherService',
      {
        heartbeat: h.heartbeat,
        session: h.session,
        assignments: h.assignments,
        updateTaskStatus: h.updateTaskStatus,
      },
      // Sessions, their assignments and the status intake live on the leader (SwarmKit's dispatcher).
      ['heartbeat', 'session', 'assignments', 'updateTaskStatus'],
    ),
    mk(
      LogBrokerServiceService,
      'tswarm.v1.LogBrokerService',
      { listenSubscriptions: h.listenSubscriptions, publishLogs: h.publishLogs },
      // The broker lives on the leader, beside the sessions its listeners belong to (SwarmKit's).
      ['listenSubscriptions', 'publishLogs'],
    ),
    mk(
      RaftMembershipServiceService,
      'tswarm.v1.RaftMembershipService',
      { joinRaft: h.joinRaft, leaveRaft: h.leaveRaft },
      ['joinRaft', 'leaveRaft'],
    ),
    mk(
      control.ControlServiceService,
      'tswarm.v1.ControlService',
      h.control,
      Object.keys(h.control).filter((m) => !controlReads.has(m)),
      CONTROL_READS,
    ),
  ];
}
