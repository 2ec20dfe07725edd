import { describe, expect, it } from 'vitest';
import type { TswarmError } from '../../lib/errors.js';
import { NodeAvailability, NodeRole, NodeState, type NodeSpec } from '../../gen/tswarm/v1/objects.js';
import { addCluster, addNode, testStore, testTask } from '../store/testing/test-store.js';
import { checkQuorumAfterRemoving, listNodes, removeNode, resolveNode, updateNode, type QuorumView } from './nodes.js';
import { thrownCode } from '../../lib/testing/error-codes.js';

async function setup() {
  const t = testStore();
  await addCluster(t.store);
  return t;
}

/** Voters as listed; every one reachable unless named in `unreachable`. */
function quorum(voters: string[], unreachable: string[] = []): QuorumView {
  return { voters: () => voters, reachable: (id) => !unreachable.includes(id) };
}

async function asyncCodeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e as TswarmError).code,
  );
}

function spec(over: Partial<NodeSpec> = {}): NodeSpec {
  return {
    annotations: { name: '', labels: {} },
    desiredRole: NodeRole.NODE_ROLE_WORKER,
    availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    ...over,
  };
}

describe('resolveNode', () => {
  it('finds a node by full ID, unique ID prefix or hostname', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'abc123', hostname: 'alpha' });
    await addNode(t.store, { id: 'abd456', hostname: 'beta' });
    expect(resolveNode(t.replica, 'abc123').id).toBe('abc123');
    expect(resolveNode(t.replica, 'abd').id).toBe('abd456');
    expect(resolveNode(t.replica, 'alpha').id).toBe('abc123');
  });

  it('refuses an empty, unknown or ambiguous reference', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'abc123' });
    await addNode(t.store, { id: 'abd456' });
    expect(thrownCode(() => resolveNode(t.replica, ''))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => resolveNode(t.replica, 'zzz'))).toBe('NOT_FOUND');
    expect(thrownCode(() => resolveNode(t.replica, 'ab'))).toBe('INVALID_ARGUMENT');
  });
});

describe('listNodes', () => {
  it('filters by name, ID prefix, role and label, sorted by hostname', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'n3', hostname: 'c', role: 'manager' });
    await addNode(t.store, { id: 'n1', hostname: 'b' });
    await addNode(t.store, { id: 'x2', hostname: 'a' });
    await updateNode(t.store, quorum(['n3']), 'n1', 0, spec({ annotations: { name: '', labels: { zone: 'z1' } } }));
    const ids = (req: Partial<Parameters<typeof listNodes>[1]>) =>
      listNodes(t.replica, { names: [], idPrefixes: [], roles: [], labels: {}, ...req }).map((n) => n.id);
    expect(ids({})).toEqual(['x2', 'n1', 'n3']);
    expect(ids({ names: ['b', 'c'] })).toEqual(['n1', 'n3']);
    expect(ids({ idPrefixes: ['n'] })).toEqual(['n1', 'n3']);
    expect(ids({ roles: [NodeRole.NODE_ROLE_MANAGER] })).toEqual(['n3']);
    expect(ids({ labels: { zone: 'z1' } })).toEqual(['n1']);
  });
});

describe('checkQuorumAfterRemoving', () => {
  it('allows taking away a non-voter, or a voter when the rest still form a reachable majority', () => {
    expect(thrownCode(() => checkQuorumAfterRemoving('w1', quorum(['m1']), 'demoting w1'))).toBe('ok');
    expect(thrownCode(() => checkQuorumAfterRemoving('m3', quorum(['m1', 'm2', 'm3']), 'demoting m3'))).toBe('ok');
    // 4 → 3 voters with one unreachable: 2 of 3 is still a majority.
    expect(thrownCode(() => checkQuorumAfterRemoving('m4', quorum(['m1', 'm2', 'm3', 'm4'], ['m3']), 'x'))).toBe('ok');
  });

  it('refuses to remove the last manager or to leave fewer reachable voters than a majority', () => {
    expect(() => checkQuorumAfterRemoving('m1', quorum(['m1']), 'demoting m1')).toThrow(/without a manager/);
    // 3 → 2 voters with one unreachable: 1 of 2 is no majority.
    expect(() => checkQuorumAfterRemoving('m3', quorum(['m1', 'm2', 'm3'], ['m2']), 'demoting m3')).toThrow(
      /would lose quorum: 1 of the remaining 2 managers are reachable and 2 are needed/,
    );
  });
});

describe('updateNode', () => {
  it('writes the new spec at the version read, and refuses a stale version', async () => {
    const t = await setup();
    const n = await addNode(t.store, { id: 'w1' });
    const drained = spec({ availability: NodeAvailability.NODE_AVAILABILITY_DRAIN });
    const updated = await updateNode(t.store, quorum(['m1']), 'w1', n.meta!.version, drained);
    expect(updated.spec).toEqual(drained);
    expect(await asyncCodeOf(updateNode(t.store, quorum(['m1']), 'w1', n.meta!.version, spec()))).toBe('CONFLICT');
    expect(t.replica.get('node', 'w1')!.spec).toEqual(drained);
  });

  it('refuses a bad availability, role or label key', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    const q = quorum(['m1']);
    for (const bad of [
      spec({ availability: NodeAvailability.NODE_AVAILABILITY_UNSPECIFIED }),
      spec({ desiredRole: NodeRole.NODE_ROLE_UNSPECIFIED }),
      spec({ annotations: { name: '', labels: { ['k'.repeat(257)]: 'v' } } }),
    ])
      expect(await asyncCodeOf(updateNode(t.store, q, 'w1', 0, bad))).toBe('INVALID_ARGUMENT');
  });

  it('refuses a demotion that would lose quorum, and allows one that would not', async () => {
    const t = await setup();
    for (const id of ['m1', 'm2', 'm3']) await addNode(t.store, { id, role: 'manager' });
    const worker = spec({ desiredRole: NodeRole.NODE_ROLE_WORKER });
    expect(await asyncCodeOf(updateNode(t.store, quorum(['m1', 'm2', 'm3'], ['m2']), 'm3', 0, worker))).toBe(
      'FAILED_PRECONDITION',
    );
    expect(t.replica.get('node', 'm3')!.spec!.desiredRole).toBe(NodeRole.NODE_ROLE_MANAGER);
    await updateNode(t.store, quorum(['m1', 'm2', 'm3']), 'm3', 0, worker);
    expect(t.replica.get('node', 'm3')!.spec!.desiredRole).toBe(NodeRole.NODE_ROLE_WORKER);
  });
});

describe('removeNode', () => {
  it('refuses a manager, and a node that is not down unless forced', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'm1', role: 'manager', state: NodeState.NODE_STATE_DOWN });
    await addNode(t.store, { id: 'w1', state: NodeState.NODE_STATE_READY });
    expect(await asyncCodeOf(removeNode(t.store, 'm1', true))).toBe('FAILED_PRECONDITION');
    expect(await asyncCodeOf(removeNode(t.store, 'w1', false))).toBe('FAILED_PRECONDITION');
    expect(t.replica.count('node')).toBe(2);
    await removeNode(t.store, 'w1', true);
    expect(t.replica.get('node', 'w1')).toBeUndefined();
  });

  it('removes a down node together with its tasks', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1', state: NodeState.NODE_STATE_DOWN });
    await addNode(t.store, { id: 'w2' });
    await t.store.update((tx) => {
      tx.create('task', testTask('t1', 's1', 'w1'));
      tx.create('task', testTask('t2', 's1', 'w2'));
    });
    await removeNode(t.store, 'w1', false);
    expect(t.replica.get('node', 'w1')).toBeUndefined();
    expect(t.replica.list('task').map((x) => x.id)).toEqual(['t2']);
  });
});
