import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { NodeRole, NodeState } from '../../gen/tswarm/v1/objects.js';
import type { HeartbeatRequest } from '../../gen/tswarm/v1/dispatcher.js';
import type { Caller } from '../authz/authz.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { Dispatcher } from './dispatcher.js';
import { MISSED_HEARTBEATS_MAX, UNKNOWN_NODE_GRACE_MULTIPLIER } from './heartbeats.js';
import { DESCRIPTION_WRITE_INTERVAL_MS } from './description-rules.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';

const PERIOD_MS = 1_000; // the default cluster spec's heartbeat period

async function setup() {
  const t = testStore(10_000);
  await addCluster(t.store);
  const dispatcher = new Dispatcher({ nodeId: 'm1', store: t.store, clock: t.clock, log: silentLogger() });
  return { ...t, dispatcher };
}

const node = (nodeId: string): Caller => ({ kind: 'node', nodeId, role: 'worker' });
const beat: HeartbeatRequest = { sessionId: '', description: undefined, trustRootDigest: '' };

function stateOf(t: Awaited<ReturnType<typeof setup>>, id: string): NodeState | undefined {
  return t.replica.get('node', id)?.status?.state;
}

describe('Dispatcher', () => {
  it('answers a member’s heartbeat with the period, its desired role and the managers to reach', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'm1', role: 'manager', managerAddr: '10.0.0.1:2377' });
    await addNode(t.store, { id: 'w1', desiredRole: 'manager' });
    const res = await t.dispatcher.heartbeat(beat, node('w1'));
    expect(res).toEqual({
      periodMs: PERIOD_MS,
      desiredRole: NodeRole.NODE_ROLE_MANAGER,
      managers: [{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }],
      // The test store's root is a placeholder, not PEM: no certificate in the bundle, and it signs.
      trustBundlePem: Buffer.from(''),
      issuerCaCertPem: Buffer.from('the CA certificate'),
    });
  });

  it('records the trust bundle digest a node reports, and refuses one that is not a SHA-256', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    const digest = 'ab'.repeat(32);
    await t.dispatcher.heartbeat({ ...beat, trustRootDigest: digest }, node('w1'));
    expect(t.replica.get('node', 'w1')!.trustRootDigest).toBe(digest);
    expect(await rejectedCode(t.dispatcher.heartbeat({ ...beat, trustRootDigest: 'x' }, node('w1')))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses a caller without a certificate and a node the store does not hold', async () => {
    const t = await setup();
    expect(await rejectedCode(t.dispatcher.heartbeat(beat, { kind: 'anonymous' }))).toBe('UNAUTHENTICATED');
    expect(await rejectedCode(t.dispatcher.heartbeat(beat, node('gone')))).toBe('PERMISSION_DENIED');
  });

  it('writes a node’s new description, and nothing when it is unchanged', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1', hostname: 'old' });
    const description = { ...t.replica.get('node', 'w1')!.description!, hostname: 'new' };
    await t.dispatcher.heartbeat({ sessionId: '', description, trustRootDigest: '' }, node('w1'));
    expect(t.replica.get('node', 'w1')!.description!.hostname).toBe('new');
    const version = t.replica.version;
    await t.dispatcher.heartbeat({ sessionId: '', description, trustRootDigest: '' }, node('w1'));
    expect(t.replica.version).toBe(version);
  });

  it('refuses a description that breaks a rule, naming the field, and writes nothing', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1', hostname: 'w1' });
    const description = t.replica.get('node', 'w1')!.description!;
    const version = t.replica.version;
    const renamed = t.dispatcher.heartbeat(
      { sessionId: '', description: { ...description, hostname: 'x y' }, trustRootDigest: '' },
      node('w1'),
    );
    await expect(renamed).rejects.toThrow(/hostname has the label "x y"/);
    expect(await rejectedCode(renamed)).toBe('INVALID_ARGUMENT');
    const huge = { ...description, resources: { nanoCpus: 1e15, memoryBytes: 0, pids: 0 } };
    await expect(
      t.dispatcher.heartbeat({ sessionId: '', description: huge, trustRootDigest: '' }, node('w1')),
    ).rejects.toThrow(/resources\.nanoCpus/);
    expect(t.replica.version).toBe(version);
  });

  it('writes a changed description at most once per interval, the latest one when the interval has passed', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1', hostname: 'w1' });
    const base = t.replica.get('node', 'w1')!.description!;
    const named = (hostname: string) => ({ sessionId: '', description: { ...base, hostname }, trustRootDigest: '' });
    await t.dispatcher.heartbeat(named('a'), node('w1'));
    const afterFirst = t.replica.version;
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1_000);
      await t.dispatcher.heartbeat(named(i % 2 ? 'a' : 'b'), node('w1')); // alternating: no write
    }
    expect(t.replica.version).toBe(afterFirst);
    expect(t.replica.get('node', 'w1')!.description!.hostname).toBe('a');
    t.clock.advance(DESCRIPTION_WRITE_INTERVAL_MS);
    await t.dispatcher.heartbeat(named('c'), node('w1'));
    expect(t.replica.get('node', 'w1')!.description!.hostname).toBe('c');
  });

  it(`marks a node DOWN after ${MISSED_HEARTBEATS_MAX} missed periods and READY when it beats again`, async () => {
    const t = await setup();
    await addNode(t.store, { id: 'm1', role: 'manager', state: NodeState.NODE_STATE_UNKNOWN });
    await addNode(t.store, { id: 'w1', state: NodeState.NODE_STATE_UNKNOWN });
    await t.dispatcher.heartbeat(beat, node('w1'));
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_READY);
    expect(stateOf(t, 'm1')).toBe(NodeState.NODE_STATE_READY); // the leader beats for itself

    t.clock.advance(MISSED_HEARTBEATS_MAX * PERIOD_MS);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_READY); // exactly at the deadline: still alive

    t.clock.advance(1);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_DOWN);
    expect(t.replica.get('node', 'w1')!.status!.message).toContain('heartbeat failure');
    expect(stateOf(t, 'm1')).toBe(NodeState.NODE_STATE_READY);

    await t.dispatcher.heartbeat(beat, node('w1'));
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_READY);
  });

  it('after forgetting its beats (leadership lost), gives every node a full grace again', async () => {
    const t = await setup();
    await addNode(t.store, { id: 'w1' });
    await t.dispatcher.heartbeat(beat, node('w1'));
    t.clock.advance(10 * PERIOD_MS);
    t.dispatcher.forgetBeats();
    await t.dispatcher.markLiveness(t.replica.list('node'));
    // Not heard from since: UNKNOWN (no new task goes there), for the unknown node's grace, twice the deadline.
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_UNKNOWN);
    t.clock.advance(MISSED_HEARTBEATS_MAX * PERIOD_MS * UNKNOWN_NODE_GRACE_MULTIPLIER);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_UNKNOWN);
    t.clock.advance(1);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(stateOf(t, 'w1')).toBe(NodeState.NODE_STATE_DOWN);
  });

  it('takes the period from the cluster spec, else the configured one', async () => {
    const t = testStore();
    const d = new Dispatcher({
      nodeId: 'm1',
      store: t.store,
      clock: t.clock,
      log: silentLogger(),
      heartbeatPeriodMs: 7,
    });
    expect(d.heartbeatPeriodMs()).toBe(7);
    await addCluster(t.store);
    expect(d.heartbeatPeriodMs()).toBe(PERIOD_MS);
  });
});
