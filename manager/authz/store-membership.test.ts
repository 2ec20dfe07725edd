import { describe, expect, it } from 'vitest';
import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { storeMembership } from './store-membership.js';

describe('storeMembership', () => {
  it('takes roles from the store: a manager to be demoted is a worker at once, a worker to be promoted is not yet a manager', async () => {
    const t = testStore();
    await addCluster(t.store);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'm2', role: 'manager', desiredRole: 'worker' });
    await addNode(t.store, { id: 'w1', role: 'worker', desiredRole: 'manager' });
    const view = storeMembership(t.replica, 'c1');
    expect(view.clusterId()).toBe('c1');
    expect(['m1', 'm2', 'w1', 'gone'].map((id) => view.roleOf(id))).toEqual(['manager', 'worker', 'worker', undefined]);
  });

  it('says whether a node may hold a Raft seat: a manager (also one being demoted) or a worker being promoted; a worker not; a node it does not hold is no verdict', async () => {
    const t = testStore();
    await addCluster(t.store);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'm2', role: 'manager', desiredRole: 'worker' });
    await addNode(t.store, { id: 'w1', role: 'worker', desiredRole: 'manager' });
    await addNode(t.store, { id: 'w2', role: 'worker' });
    const view = storeMembership(t.replica, 'c1');
    expect(['m1', 'm2', 'w1', 'w2', 'gone'].map((id) => view.raftStanding(id))).toEqual([
      'manager',
      'manager',
      'manager',
      'worker',
      'not-held',
    ]);
    // Read at each call, not once: a change to the store shows at the next question.
    await t.store.update((tx, s) => {
      const m1 = s.get('node', 'm1')!;
      tx.update('node', {
        ...m1,
        role: NodeRole.NODE_ROLE_WORKER,
        spec: { ...m1.spec!, desiredRole: NodeRole.NODE_ROLE_WORKER },
      });
    });
    expect(view.raftStanding('m1')).toBe('worker');
  });
});
