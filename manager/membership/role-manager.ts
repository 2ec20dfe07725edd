import type { Logger } from '../../lib/log.js';
import { NodeRole, type Node } from '../../gen/tswarm/v1/objects.js';
import type { Store } from '../store/store.js';
import type { RaftMembership } from './raft-membership.js';

export interface RoleManagerOptions {
  /** This manager's own node: it cannot remove itself from Raft while leading, so it hands leadership on. */
  nodeId: string;
  raft: RaftMembership;
  store: Store;
  log: Logger;
}

/**
 * Brings Raft membership and the nodes' roles in line with what the cluster wants (SwarmKit's
 * role manager): promotes caught-up learners to voters, records a voter's manager role, and
 * carries out demotions. At most one change per round, so each is committed before the next.
 */
export class RoleManager {
  constructor(private readonly o: RoleManagerOptions) {}

  /** Leader-only round over `nodes` (the store's current list). */
  async reconcile(nodes: readonly Node[]): Promise<void> {
    const { raft, store, nodeId: self } = this.o;
    const status = raft.status();
    for (const learner of status.learners) {
      // A learner is promoted once it has applied what the leader had when it was added, and
      // only while the store still wants it as a manager: a promotion undone (or a node removed)
      // while it caught up must not give that node a vote, nor a leader's power.
      const wanted = store.get('node', learner)?.spec?.desiredRole === NodeRole.NODE_ROLE_MANAGER;
      if (wanted && raft.learnerCaughtUp(learner)) {
        await raft.proposeConfChange({ type: 'addVoter', nodeId: learner, addr: '' });
        this.o.log.info({ node: learner }, 'promoted a caught-up learner to voter');
        return;
      }
      // A learner is added only for a node the store wants as a manager (JoinRaft checks), so one
      // the store no longer wants (demoted) or no longer holds (`node rm`) leaves the configuration
      // as a voter does: it must not keep a seat, nor receive the log (which holds the CA key).
      if (!wanted) {
        await raft.proposeConfChange({ type: 'remove', nodeId: learner, addr: '' });
        this.o.log.info({ node: learner }, 'removed a learner the cluster no longer wants as a manager');
        return;
      }
    }
    for (const n of nodes) {
      const inRaft = status.voters.includes(n.id);
      if (n.role !== NodeRole.NODE_ROLE_MANAGER && inRaft) {
        await store.update((tx, s) => tx.update('node', { ...s.get('node', n.id)!, role: NodeRole.NODE_ROLE_MANAGER }));
        return;
      }
      if (n.spec?.desiredRole === NodeRole.NODE_ROLE_WORKER && n.role === NodeRole.NODE_ROLE_MANAGER) {
        if (n.id === self) {
          // The heir must be up: a transfer to a voter that is down fails, and the demotion waits.
          const heir = raft.leadershipHeir();
          if (heir) await raft.transferLeadership(heir);
          return;
        }
        if (inRaft || status.learners.includes(n.id))
          await raft.proposeConfChange({ type: 'remove', nodeId: n.id, addr: '' });
        await store.update((tx, s) =>
          tx.update('node', { ...s.get('node', n.id)!, role: NodeRole.NODE_ROLE_WORKER, managerStatus: undefined }),
        );
        return;
      }
    }
  }
}
