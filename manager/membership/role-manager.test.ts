import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { RoleManager } from './role-manager.js';
import { FakeRaft } from './testing/fake-raft.js';

async function setup(raft: FakeRaft) {
  const t = testStore();
  await addCluster(t.store);
  const roles = new RoleManager({ nodeId: 'm1', raft, store: t.store, log: silentLogger() });
  const round = () => roles.reconcile(t.replica.list('node'));
  return { ...t, round };
}

describe('RoleManager', () => {
  it('promotes a learner to voter once it has caught up, one change per round', async () => {
    const raft = new FakeRaft(['m1'], ['m2', 'm3']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'm2', role: 'manager' });
    await addNode(t.store, { id: 'm3', role: 'worker', desiredRole: 'manager' });
    await t.round();
    expect(raft.proposed).toEqual([]); // neither learner has caught up
    raft.caughtUp.add('m2').add('m3');
    await t.round();
    expect(raft.proposed).toEqual([{ type: 'addVoter', nodeId: 'm2', addr: '' }]);
    await t.round();
    expect(raft.proposed.at(-1)).toEqual({ type: 'addVoter', nodeId: 'm3', addr: '' });
    expect(raft.voters).toEqual(['m1', 'm2', 'm3']);
  });

  it('never promotes a learner the store no longer wants as a manager, or no longer holds: it removes it', async () => {
    const raft = new FakeRaft(['m1'], ['w1', 'gone']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'w1', role: 'worker', desiredRole: 'worker' }); // promoted, then demoted
    raft.caughtUp.add('w1').add('gone');
    await t.round();
    expect(raft.proposed).toEqual([{ type: 'remove', nodeId: 'w1', addr: '' }]);
    await t.round();
    expect(raft.proposed.at(-1)).toEqual({ type: 'remove', nodeId: 'gone', addr: '' });
    expect(raft.voters).toEqual(['m1']);
    expect(raft.learners).toEqual([]);
  });

  it('demotes a manager that is still a learner: out of the configuration, then a worker', async () => {
    const raft = new FakeRaft(['m1'], ['m2']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    // Joined with a manager token, demoted before it caught up.
    await addNode(t.store, { id: 'm2', role: 'manager', desiredRole: 'worker', managerAddr: '10.0.0.2:2377' });
    await t.round();
    expect(raft.proposed).toEqual([{ type: 'remove', nodeId: 'm2', addr: '' }]);
    expect(raft.learners).toEqual([]);
    await t.round();
    expect(t.replica.get('node', 'm2')!.role).toBe(NodeRole.NODE_ROLE_WORKER);
  });

  it('records the manager role of a node that became a voter', async () => {
    const raft = new FakeRaft(['m1', 'w1']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'w1', role: 'worker', desiredRole: 'manager' });
    await t.round();
    expect(t.replica.get('node', 'w1')!.role).toBe(NodeRole.NODE_ROLE_MANAGER);
    expect(raft.proposed).toEqual([]);
  });

  it('demotes another manager: out of Raft, then a worker without manager status', async () => {
    const raft = new FakeRaft(['m1', 'm2', 'm3']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'm2', role: 'manager', desiredRole: 'worker', managerAddr: '10.0.0.2:2377' });
    await addNode(t.store, { id: 'm3', role: 'manager' });
    await t.round();
    expect(raft.proposed).toEqual([{ type: 'remove', nodeId: 'm2', addr: '' }]);
    const m2 = t.replica.get('node', 'm2')!;
    expect(m2.role).toBe(NodeRole.NODE_ROLE_WORKER);
    expect(m2.managerStatus).toBeUndefined();
  });

  it('hands leadership on instead of removing itself, and changes nothing in the store', async () => {
    const raft = new FakeRaft(['m1', 'm2']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager', desiredRole: 'worker' });
    await addNode(t.store, { id: 'm2', role: 'manager' });
    const version = t.replica.version;
    await t.round();
    expect(raft.transfers).toEqual(['m2']);
    expect(raft.proposed).toEqual([]);
    expect(t.replica.version).toBe(version);
  });

  it('hands leadership to the heir Raft names (one that is up), not the first voter by ID', async () => {
    const raft = new FakeRaft(['m1', 'm2', 'm3']);
    raft.heir = 'm3';
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager', desiredRole: 'worker' });
    await t.round();
    expect(raft.transfers).toEqual(['m3']);
  });

  it('does nothing when roles and membership agree', async () => {
    const raft = new FakeRaft(['m1']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'm1', role: 'manager' });
    await addNode(t.store, { id: 'w1' });
    const version = t.replica.version;
    await t.round();
    expect(raft.proposed).toEqual([]);
    expect(raft.transfers).toEqual([]);
    expect(t.replica.version).toBe(version);
  });
});
