import { describe, expect, it } from 'vitest';
import { Reachability } from '../../gen/tswarm/v1/objects.js';
import type { Caller } from '../authz/authz.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { joinRaft, leaveRaft } from './join-raft.js';
import { FakeRaft } from './testing/fake-raft.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';

async function setup(raft: FakeRaft) {
  const t = testStore();
  await addCluster(t.store);
  await addNode(t.store, { id: 'm1', role: 'manager', managerAddr: '10.0.0.1:2377' });
  return { ...t, ctx: { raft, store: t.store } };
}

const node = (nodeId: string, role: 'worker' | 'manager' = 'worker'): Caller => ({ kind: 'node', nodeId, role });

describe('JoinRaft', () => {
  it('adds a promoted node as a learner, records its address and lists the members', async () => {
    const raft = new FakeRaft(['m1']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'w1', desiredRole: 'manager' });
    const res = await joinRaft(t.ctx, { addr: '10.0.0.2:2377' }, node('w1'));
    expect(raft.proposed).toEqual([{ type: 'addLearner', nodeId: 'w1', addr: '10.0.0.2:2377' }]);
    expect(t.replica.get('node', 'w1')!.managerStatus).toEqual({
      addr: '10.0.0.2:2377',
      leader: false,
      reachability: Reachability.REACHABILITY_REACHABLE,
    });
    expect(res.members).toEqual([
      { nodeId: 'm1', addr: '10.0.0.1:2377', learner: false },
      { nodeId: 'w1', addr: '10.0.0.2:2377', learner: true },
    ]);
    // The index the members list holds at: the addition of w1 is applied by then.
    expect(res.appliedIndex).toBe(raft.status().applied);
  });

  it('proposes nothing for a node already in Raft (a retried join), but updates its address', async () => {
    const raft = new FakeRaft(['m1'], ['w1']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'w1', desiredRole: 'manager' });
    await joinRaft(t.ctx, { addr: '10.0.0.9:2377' }, node('w1'));
    expect(raft.proposed).toEqual([]);
    expect(t.replica.get('node', 'w1')!.managerStatus!.addr).toBe('10.0.0.9:2377');
  });

  it('refuses a caller without a certificate, a node not to be a manager, and a bad address', async () => {
    const raft = new FakeRaft(['m1']);
    const t = await setup(raft);
    await addNode(t.store, { id: 'w1' });
    await addNode(t.store, { id: 'w2', desiredRole: 'manager' });
    expect(await rejectedCode(joinRaft(t.ctx, { addr: '10.0.0.2:2377' }, { kind: 'anonymous' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await rejectedCode(joinRaft(t.ctx, { addr: '10.0.0.2:2377' }, node('w1')))).toBe('PERMISSION_DENIED');
    expect(await rejectedCode(joinRaft(t.ctx, { addr: '10.0.0.2:2377' }, node('gone')))).toBe('PERMISSION_DENIED');
    for (const addr of ['10.0.0.2', 'host name:2377', ':2377', '10.0.0.2:123456'])
      expect(await rejectedCode(joinRaft(t.ctx, { addr }, node('w2'))), addr).toBe('INVALID_ARGUMENT');
    expect(raft.proposed).toEqual([]);
  });
});

describe('LeaveRaft', () => {
  it('lets a manager take only itself out of Raft', async () => {
    const raft = new FakeRaft(['m1', 'm2']);
    const t = await setup(raft);
    expect(await rejectedCode(leaveRaft(t.ctx, { nodeId: 'm2' }, node('m1', 'manager')))).toBe('PERMISSION_DENIED');
    expect(await rejectedCode(leaveRaft(t.ctx, { nodeId: 'm2' }, { kind: 'anonymous' }))).toBe('PERMISSION_DENIED');
    expect(raft.proposed).toEqual([]);
    await leaveRaft(t.ctx, { nodeId: 'm2' }, node('m2', 'manager'));
    expect(raft.proposed).toEqual([{ type: 'remove', nodeId: 'm2', addr: '' }]);
    expect(raft.voters).toEqual(['m1']);
  });

  it('answers only once the member is out: a change the leader dropped is an error to retry', async () => {
    const raft = new FakeRaft(['m1', 'm2']);
    const t = await setup(raft);
    raft.dropNext = true;
    expect(await rejectedCode(leaveRaft(t.ctx, { nodeId: 'm2' }, node('m2', 'manager')))).toBe('UNAVAILABLE');
    expect(raft.voters).toEqual(['m1', 'm2']);
    await leaveRaft(t.ctx, { nodeId: 'm2' }, node('m2', 'manager'));
    expect(raft.voters).toEqual(['m1']);
  });
});
