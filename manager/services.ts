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
  FORWARDED_FOR_METADATA_KEY,
  secureServerStream,
  secureUnary,
  type Allowed,
  type Caller,
  type MembershipView,
} from './authz/authz.js';
import { AnonymousRateLimiter } from './authz/anonymous-gate.js';
import { systemClock } from '../lib/clock.js';
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
  'tswarm.v1.ControlService': {
    getNode: MANAGERS,
    listNodes: MANAGERS,
    updateNode: MANAGERS,
    removeNode: MANAGERS,
    getCluster: MANAGERS,
    listClusters: MANAGERS,
    updateCluster: MANAGERS,
  },
} as const;

/** The handlers each service needs; `leaderOnly` ones run on the leader and are forwarded there. */
export interface ManagerHandlers {
  isLeader: () => boolean;
  rootCaPem: () => string;
  issueCertificate: (req: IssueNodeCertificateRequest, caller: Caller) => Promise<IssueNodeCertificateResponse>;
  certificateStatus: (req: NodeCertificateStatusRequest, caller: Caller) => Promise<NodeCertificateStatusResponse>;
  heartbeat: (req: HeartbeatRequest, caller: Caller) => Promise<HeartbeatResponse>;
  session: (req: SessionRequest, caller: Caller, sink: StreamSink<SessionResponse>) => Promise<void>;
  assignments: (req: AssignmentsRequest, caller: Caller, sink: StreamSink<AssignmentsResponse>) => Promise<void>;
  updateTaskStatus: (req: UpdateTaskStatusRequest, caller: Caller) => Promise<UpdateTaskStatusResponse>;
  joinRaft: (req: JoinRaftRequest, caller: Caller) => Promise<JoinRaftResponse>;
  leaveRaft: (req: LeaveRaftRequest, caller: Caller) => Promise<LeaveRaftResponse>;
  control: {
    getNode: (req: control.GetNodeRequest) => Promise<control.GetNodeResponse>;
    listNodes: (req: control.ListNodesRequest) => Promise<control.ListNodesResponse>;
    updateNode: (req: control.UpdateNodeRequest) => Promise<control.UpdateNodeResponse>;
    removeNode: (req: control.RemoveNodeRequest) => Promise<control.RemoveNodeResponse>;
    getCluster: (req: control.GetClusterRequest) => Promise<control.GetClusterResponse>;
    listClusters: (req: control.ListClustersRequest) => Promise<control.ListClustersResponse>;
    updateCluster: (req: control.UpdateClusterRequest) => Promise<control.UpdateClusterResponse>;
  };
}

type Handler = (req: never, caller: Caller, sink: never) => Promise<unknown>;

/**
 * Builds a service implementation: every method authorized by its policy, and — for methods that
 * change or need the leader's state — run on the leader, forwarded there from a follower.
 */
function build(
  definition: ServiceDefinition,
  serviceName: keyof typeof POLICIES,
  handlers: Record<string, Handler>,
  leaderOnly: ReadonlySet<string>,
  membership: MembershipView,
  isLeader: () => boolean,
  forwarder: LeaderForwarder,
  anonymous: AnonymousRateLimiter,
): UntypedServiceImplementation {
  const policy = POLICIES[serviceName] as Record<string, readonly Allowed[]>;
  const impl: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const allowed = policy[method];
    if (!allowed) throw new Error(`${serviceName}.${method} has no authorization policy`);
    if (definition[method]?.responseStream) {
      // A stream is authorized as a unary call is, and carried to the leader the same way.
      impl[method] = secureServerStream(`${serviceName}.${method}`, allowed, membership, async (req, caller, call) => {
        const sink = streamSink(call);
        if (leaderOnly.has(method) && !isLeader())
          return forwarder.forwardStream(definition, serviceName, method, req, caller, sink);
        await handler(req as never, caller, sink as never);
      });
      continue;
    }
    impl[method] = secureUnary(`${serviceName}.${method}`, allowed, membership, async (req: unknown, caller, call) => {
      // Anonymous calls are limited where they enter the cluster; a forwarded one was admitted there.
      const forwarded = call.metadata?.get(FORWARDED_FOR_METADATA_KEY)[0];
      if (caller.kind === 'anonymous' && !forwarded) anonymous.admit(call.getPeer());
      if (leaderOnly.has(method) && !isLeader()) return forwarder.forward(definition, serviceName, method, req, caller);
      return handler(req as never, caller, undefined as never);
    });
  }
  return impl;
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
  const isLeader = () => h.isLeader();
  const mk = (
    definition: ServiceDefinition,
    name: keyof typeof POLICIES,
    handlers: Record<string, Handler>,
    leaderOnly: string[],
  ): BuiltServices => ({
    definition,
    implementation: build(definition, name, handlers, new Set(leaderOnly), membership, isLeader, forwarder, anonymous),
  });
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
      RaftMembershipServiceService,
      'tswarm.v1.RaftMembershipService',
      { joinRaft: h.joinRaft, leaveRaft: h.leaveRaft },
      ['joinRaft', 'leaveRaft'],
    ),
    mk(control.ControlServiceService, 'tswarm.v1.ControlService', h.control, Object.keys(h.control)),
  ];
}
