import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import type { MemoryStore } from '../store/memory-store.js';
import { roleName } from '../store/cluster-objects.js';
import type { MembershipView } from './authz.js';

export interface StoreMembership extends MembershipView {
  /**
   * Whether the store holds the node as a manager, or as a node to become one. This is the
   * store's side of who may hold a Raft seat, which the Raft transport asks (raft-sender.ts):
   * - a promoted node is still a worker in the store while it catches up as a learner, and
   *   only its desired role says manager;
   * - a manager being demoted keeps its role until the leader has taken it out of Raft, and
   *   until then its messages are needed (it may be the leader handing over leadership).
   */
  managerOrBecomingOne(nodeId: string): boolean;
}

/** Who is a member, and in which role, as this manager's replica of the store says — read at each call. */
export function storeMembership(replica: MemoryStore, clusterId: string): StoreMembership {
  return {
    clusterId: () => clusterId,
    roleOf: (id) => {
      // A node the store does not hold is no member (yet, or any more): refused.
      const node = replica.get('node', id);
      if (!node) return undefined;
      // Demotion takes effect at once: a manager the cluster no longer wants is treated as a
      // worker while its Raft removal is still under way. (A promotion waits for Raft.)
      const role = roleName(node.role);
      return role === 'manager' && node.spec?.desiredRole === NodeRole.NODE_ROLE_WORKER ? 'worker' : role;
    },
    managerOrBecomingOne: (id) => {
      const node = replica.get('node', id);
      return node?.role === NodeRole.NODE_ROLE_MANAGER || node?.spec?.desiredRole === NodeRole.NODE_ROLE_MANAGER;
    },
  };
}
