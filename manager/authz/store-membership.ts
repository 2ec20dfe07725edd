import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import type { MemoryStore } from '../store/memory-store.js';
import { roleName } from '../store/cluster-objects.js';
import type { MembershipView } from './authz.js';
import { isRevoked } from './revocation.js';

/**
 * The store's word on a node that holds a Raft seat (raft-sender.ts asks it for every message):
 * - 'manager': held as a manager, or as a node to become one. A promoted node is still a worker
 *   in the store while it catches up as a learner, and only its desired role says manager; a
 *   manager being demoted keeps its role until the leader has taken it out of Raft, and until
 *   then its messages are needed (it may be the leader handing over leadership).
 * - 'worker': held, and neither (a demotion that left it in Raft).
 * - 'not-held': removed, or not yet applied here — a member's store can lag its configuration
 *   (the bootstrap snapshot holds the first voter but no node at all), so this is no verdict.
 */
export type RaftStanding = 'manager' | 'worker' | 'not-held';

export interface StoreMembership extends MembershipView {
  raftStanding(nodeId: string): RaftStanding;
}

/**
 * Who is a member, and in which role, as this manager's replica of the store says — read at each
 * call and each Raft message, so it peeks at the stored node rather than copying it (a node holds
 * its certificate and revocations: a copy per call was most of what authorization cost).
 */
export function storeMembership(replica: MemoryStore, clusterId: string): StoreMembership {
  return {
    clusterId: () => clusterId,
    roleOf: (id) => {
      // A node the store does not hold is no member (yet, or any more): refused.
      const node = replica.peek('node', id);
      if (!node) return undefined;
      // Demotion takes effect at once: a manager the cluster no longer wants is treated as a
      // worker while its Raft removal is still under way. (A promotion waits for Raft.)
      const role = roleName(node.role);
      return role === 'manager' && node.spec?.desiredRole === NodeRole.NODE_ROLE_WORKER ? 'worker' : role;
    },
    isRevoked: (id, serial) => isRevoked(replica.peek('node', id), serial),
    raftStanding: (id) => {
      const node = replica.peek('node', id);
      if (!node) return 'not-held';
      const manager = node.role === NodeRole.NODE_ROLE_MANAGER || node.spec?.desiredRole === NodeRole.NODE_ROLE_MANAGER;
      return manager ? 'manager' : 'worker';
    },
  };
}
