import { TswarmError } from '../../lib/errors.js';
import { NodeRole, Reachability, type Node } from '../../gen/tswarm/v1/objects.js';
import type * as control from '../../gen/tswarm/v1/control.js';
import type { Caller } from '../authz/authz.js';
import type { CallContext } from '../services.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../../lib/clock.js';
import { theCluster } from '../store/cluster-objects.js';
import { redactCluster, updateCluster } from './cluster.js';
import { listNodes, removeNode, resolveNode, updateNode, type QuorumView } from './nodes.js';
import {
  createService,
  listServices,
  listTasks,
  removeService,
  resolveService,
  resolveTask,
  updateService,
} from './services.js';

export interface ControlContext {
  store: Store;
  clock?: Clock;
  quorum: QuorumView;
  leaderId(): string;
}

/** Manager status as `node ls` shows it: Leader, Reachable or Unreachable, decided by the leader now. */
function withManagerStatus(node: Node, ctx: ControlContext): Node {
  if (node.role !== NodeRole.NODE_ROLE_MANAGER) return { ...node, managerStatus: undefined };
  const leader = ctx.leaderId() === node.id;
  const reachable = leader || ctx.quorum.reachable(node.id);
  return {
    ...node,
    managerStatus: {
      addr: node.managerStatus?.addr ?? '',
      leader,
      reachability: reachable ? Reachability.REACHABILITY_REACHABLE : Reachability.REACHABILITY_UNREACHABLE,
    },
  };
}

/** Certificates are not the API's business: nodes read theirs through the CA service. */
function forApi(node: Node, ctx: ControlContext): Node {
  const n = withManagerStatus(node, ctx);
  return { ...n, certificate: n.certificate ? { ...n.certificate, csrPem: Buffer.alloc(0) } : undefined };
}

export function controlHandlers(ctx: ControlContext) {
  const { store } = ctx;
  return {
    getNode: async (req: control.GetNodeRequest): Promise<control.GetNodeResponse> => ({
      node: forApi(resolveNode(store.replica, req.nodeId), ctx),
    }),
    listNodes: async (req: control.ListNodesRequest): Promise<control.ListNodesResponse> => ({
      nodes: listNodes(store.replica, req).map((n) => forApi(n, ctx)),
    }),
    // Writes carry the call's request ID into the store: a retried one is applied at most once.
    updateNode: async (
      req: control.UpdateNodeRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.UpdateNodeResponse> => {
      if (!req.spec) throw new TswarmError('INVALID_ARGUMENT', 'update node needs a node spec');
      const node = await updateNode(store, ctx.quorum, req.nodeId, req.nodeVersion, req.spec, call.requestId);
      return { node: forApi(node, ctx) };
    },
    removeNode: async (
      req: control.RemoveNodeRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.RemoveNodeResponse> => {
      await removeNode(store, req.nodeId, req.force, call.requestId);
      return {};
    },
    getCluster: async (req: control.GetClusterRequest): Promise<control.GetClusterResponse> => ({
      cluster: redactCluster(theCluster(store.replica), { includeJoinTokens: req.includeJoinTokens }),
    }),
    listClusters: async (_req: control.ListClustersRequest): Promise<control.ListClustersResponse> => ({
      clusters: store.replica.list('cluster').map((c) => redactCluster(c, { includeJoinTokens: false })),
    }),
    updateCluster: async (
      req: control.UpdateClusterRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.UpdateClusterResponse> => ({
      cluster: await updateCluster(store, req, call.requestId, ctx.clock),
    }),
    getService: async (req: control.GetServiceRequest): Promise<control.GetServiceResponse> => ({
      service: resolveService(store.replica, req.serviceId),
    }),
    listServices: async (req: control.ListServicesRequest): Promise<control.ListServicesResponse> => ({
      services: listServices(store.replica, req),
    }),
    // The request ID names the new service (services.ts): a retried create makes one service.
    createService: async (
      req: control.CreateServiceRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.CreateServiceResponse> => ({
      service: await createService(store, req.spec!, call.requestId),
    }),
    updateService: async (
      req: control.UpdateServiceRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.UpdateServiceResponse> => ({
      service: await updateService(store, req, call.requestId),
    }),
    removeService: async (
      req: control.RemoveServiceRequest,
      _caller: Caller,
      call: CallContext,
    ): Promise<control.RemoveServiceResponse> => {
      await removeService(store, req.serviceId, call.requestId);
      return {};
    },
    getTask: async (req: control.GetTaskRequest): Promise<control.GetTaskResponse> => ({
      task: resolveTask(store.replica, req.taskId),
    }),
    listTasks: async (req: control.ListTasksRequest): Promise<control.ListTasksResponse> => ({
      tasks: listTasks(store.replica, req),
    }),
  };
}
