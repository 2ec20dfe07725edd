import { describe, expect, it } from 'vitest';
import type { TswarmError } from '../../lib/errors.js';
import { NodeRole, NodeState, Reachability } from '../../gen/tswarm/v1/objects.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { controlHandlers } from './handlers.js';
import type { Caller } from '../authz/authz.js';

const admin: Caller = { kind: 'node', nodeId: 'm1', role: 'manager' };

async function setup() {
  const t = testStore();
  await addCluster(t.store);
  const api = controlHandlers({
    store: t.store,
    quorum: {
      voters: () => ['m1', 'm2'],
      reachable: (id) => t.replica.get('node', id)?.status?.state === NodeState.NODE_STATE_READY,
    },
    leaderId: () => 'm1',
  });
  return { ...t, api };
}

describe('control API handlers', () => {
  it('shows managers as leader, reachable or unreachable, workers without manager status', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'm1', role: 'manager', managerAddr: '10.0.0.1:2377' });
    await addNode(t.store, {
      id: 'm2',
      role: 'manager',
      managerAddr: '10.0.0.2:2377',
      state: NodeState.NODE_STATE_DOWN,
    });
    await addNode(t.store, { id: 'w1', managerAddr: 'left over' });
    const { nodes } = await t.api.listNodes({ names: [], idPrefixes: [], roles: [], labels: {} });
    expect(nodes.map((n) => [n.id, n.managerStatus])).toEqual([
      ['m1', { addr: '10.0.0.1:2377', leader: true, reachability: Reachability.REACHABILITY_REACHABLE }],
      ['m2', { addr: '10.0.0.2:2377', leader: false, reachability: Reachability.REACHABILITY_UNREACHABLE }],
      ['w1', undefined],
    ]);
  });

  it('answers without the CSR of a node nor the CA key of the cluster', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    await t.store.update((tx, s) => {
      const n = s.get('node', 'w1')!;
      n.certificate!.csrPem = Buffer.from('a CSR');
      tx.update('node', n);
    });
    const { node } = await t.api.getNode({ nodeId: 'w1' });
    expect(node!.certificate!.csrPem.length).toBe(0);
    expect(node!.certificate!.certificatePem.toString()).toBe('a certificate');
    const { cluster } = await t.api.getCluster({ clusterId: 'c1', includeJoinTokens: false });
    expect(cluster!.rootCa!.caKeyPem.length).toBe(0);
    const { clusters } = await t.api.listClusters({});
    expect(clusters.map((c) => c.rootCa!.caKeyPem.length)).toEqual([0]);
  });

  it('answers with the join tokens only when asked for them', async () => {
    const t = await setup();
    const without = (await t.api.getCluster({ clusterId: 'c1', includeJoinTokens: false })).cluster!;
    expect(without.rootCa!.joinTokens).toEqual({ worker: '', manager: '' });
    const { clusters } = await t.api.listClusters({});
    expect(clusters.map((c) => c.rootCa!.joinTokens)).toEqual([{ worker: '', manager: '' }]);
    const asked = (await t.api.getCluster({ clusterId: 'c1', includeJoinTokens: true })).cluster!;
    expect(asked.rootCa!.joinTokens).toEqual(t.replica.get('cluster', 'c1')!.rootCa!.joinTokens);
    expect(asked.rootCa!.joinTokens!.worker).not.toBe('');
    expect(asked.rootCa!.caKeyPem.length).toBe(0);
  });

  it('refuses a node update without a spec', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    const code = await t.api
      .updateNode({ nodeId: 'w1', nodeVersion: 0, spec: undefined }, admin, { requestId: 'r' })
      .then(
        () => 'ok',
        (e: unknown) => (e as TswarmError).code,
      );
    expect(code).toBe('INVALID_ARGUMENT');
    expect(t.replica.get('node', 'w1')!.spec!.desiredRole).toBe(NodeRole.NODE_ROLE_WORKER);
  });

  it('applies a write retried with the same request ID once, answering the retry without changing anything', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    const spec = (zone: string) => ({
      ...t.replica.get('node', 'w1')!.spec!,
      annotations: { name: '', labels: { zone } },
    });
    const first = await t.api.updateNode({ nodeId: 'w1', nodeVersion: 0, spec: spec('a') }, admin, { requestId: 'r1' });
    await t.api.updateNode({ nodeId: 'w1', nodeVersion: 0, spec: spec('b') }, admin, { requestId: 'r2' });
    const version = t.replica.version;
    // The first request again (its answer was lost): nothing is applied, zone stays b.
    await t.api.updateNode({ nodeId: 'w1', nodeVersion: 0, spec: spec('a') }, admin, { requestId: 'r1' });
    expect(t.replica.version).toBe(version);
    expect(t.replica.get('node', 'w1')!.spec!.annotations!.labels).toEqual({ zone: 'b' });
    expect(first.node!.spec!.annotations!.labels).toEqual({ zone: 'a' });
  });
});
