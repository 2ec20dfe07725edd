import { ManualClock } from '../../../lib/clock.js';
import {
  NodeAvailability,
  NodeState,
  Reachability,
  type Cluster,
  type Node,
  TaskState,
  TaskStatus,
  type Task,
} from '../../../gen/tswarm/v1/objects.js';
import type { Role } from '../../authz/authz.js';
import { newNodeObject, roleValue } from '../cluster-objects.js';
import { defaultClusterSpec } from '../new-cluster.js';
import { MemoryStore, type TxResult } from '../memory-store.js';
import { Store, type Proposer } from '../store.js';

/**
 * Applies proposals at once with rising indexes, to every replica given: a test double for Raft,
 * for unit tests of the components that sit on the store.
 */
export class DirectProposer implements Proposer {
  index = 0;
  constructor(private readonly replicas: MemoryStore[]) {}

  async propose(data: Uint8Array): Promise<TxResult> {
    this.index++;
    const results = this.replicas.map((r) => r.apply(this.index, data));
    return results[0]!;
  }
}

export function testStore(startMs = 1_000): { store: Store; clock: ManualClock; replica: MemoryStore } {
  const replica = new MemoryStore();
  const clock = new ManualClock(startMs);
  return { store: new Store(replica, new DirectProposer([replica]), clock), clock, replica };
}

/** A cluster object with the default spec and a fixed CA digest (enough to mint join tokens). */
export async function addCluster(store: Store, id = 'c1'): Promise<Cluster> {
  const digestHex = 'ab'.repeat(32);
  const cluster: Cluster = {
    id,
    meta: undefined,
    spec: defaultClusterSpec(),
    rootCa: {
      caKeyPem: Buffer.from('the CA key'),
      caCertPem: Buffer.from('the CA certificate'),
      caCertDigest: digestHex,
      joinTokens: { worker: 'worker-token', manager: 'manager-token' },
      rootRotation: undefined,
      lastForcedRotation: 0,
    },
  };
  await store.update((tx) => tx.create('cluster', cluster));
  return store.replica.get('cluster', id)!;
}

export interface TestNode {
  id: string;
  role?: Role;
  desiredRole?: Role;
  hostname?: string;
  state?: NodeState;
  managerAddr?: string;
}

/** A node as the CA would have admitted it, with the role, desired role and state a test needs. */
export async function addNode(store: Store, n: TestNode): Promise<Node> {
  const node = newNodeObject({
    id: n.id,
    role: n.role ?? 'worker',
    hostname: n.hostname ?? n.id,
    availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    certificatePem: 'a certificate',
  });
  node.spec!.desiredRole = roleValue(n.desiredRole ?? n.role ?? 'worker');
  node.status = { state: n.state ?? NodeState.NODE_STATE_READY, message: '', addr: '' };
  if (n.managerAddr !== undefined)
    node.managerStatus = { addr: n.managerAddr, leader: false, reachability: Reachability.REACHABILITY_REACHABLE };
  await store.update((tx) => tx.create('node', node));
  return store.replica.get('node', n.id)!;
}

/**
 * A task of `serviceId` on `nodeId`, desired RUNNING; ASSIGNED there when a node is named (as the
 * scheduler leaves it), with every other field empty.
 */
export function testTask(id: string, serviceId: string, nodeId: string): Task {
  return {
    id,
    meta: undefined,
    spec: undefined,
    serviceId,
    slot: 1,
    nodeId,
    annotations: undefined,
    serviceAnnotations: undefined,
    status: nodeId === '' ? undefined : TaskStatus.fromPartial({ state: TaskState.TASK_STATE_ASSIGNED }),
    desiredState: TaskState.TASK_STATE_RUNNING,
    networks: [],
    endpoint: undefined,
    specVersion: 0,
    restartCount: 0,
    restartTimesMs: [],
  };
}
