import { TswarmError } from '../../lib/errors.js';
import {
  IssuanceState,
  NodeAvailability,
  NodeRole,
  NodeState,
  type Cluster,
  type Node,
} from '../../gen/tswarm/v1/objects.js';
import type { Role } from '../authz/authz.js';
import type { MemoryStore } from './memory-store.js';

/** Reads of the cluster and node objects that several components share. */
export function theCluster(store: MemoryStore): Cluster {
  const clusters = store.list('cluster');
  if (clusters.length !== 1)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `the store holds ${clusters.length} cluster objects, expected 1. This manager has not finished joining`,
    );
  return clusters[0]!;
}

export function roleName(role: NodeRole): Role | undefined {
  if (role === NodeRole.NODE_ROLE_MANAGER) return 'manager';
  if (role === NodeRole.NODE_ROLE_WORKER) return 'worker';
  return undefined;
}

export function roleValue(role: Role): NodeRole {
  return role === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER;
}

export interface NewNode {
  id: string;
  role: Role;
  hostname: string;
  availability: NodeAvailability;
  certificatePem: string;
}

export function newNodeObject(n: NewNode): Node {
  const role = roleValue(n.role);
  return {
    id: n.id,
    meta: undefined,
    spec: {
      annotations: { name: '', labels: {} },
      desiredRole: role,
      availability: n.availability || NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    description: {
      hostname: n.hostname,
      platform: undefined,
      resources: undefined,
      engineVersion: '',
      engineLabels: {},
    },
    status: { state: NodeState.NODE_STATE_UNKNOWN, message: '', addr: '' },
    managerStatus: undefined,
    role,
    certificate: {
      csrPem: Buffer.alloc(0),
      certificatePem: Buffer.from(n.certificatePem),
      state: IssuanceState.ISSUANCE_STATE_ISSUED,
      message: '',
      role,
      revoked: [],
    },
    trustRootDigest: '',
  };
}
