import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import type { MemoryStore } from '../store/memory-store.js';
import { roleName } from '../store/cluster-objects.js';
import type { MembershipView } from './authz.js';

/** Who is a member, and in which role, as this manager's replica of the store says. */
export function storeMembership(replica: MemoryStore, clusterId: string): MembershipView {
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
  };
}
