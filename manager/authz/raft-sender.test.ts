import { describe, expect, it } from 'vitest';
import type { PeerCertificate } from 'node:tls';
import type { ServerReadableStream } from '@grpc/grpc-js';
import type { PeerIdentity } from '../../lib/tls.js';
import type { MessageType } from '../raft/core/messages.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import { judgeRaftSender, raftSenderAuthorizer, type RaftCaller, type RaftSenderView } from './raft-sender.js';
import { storeMembership, type RaftStanding } from './store-membership.js';

/**
 * A manager's state as plain data: its current configuration, what its store says of each node
 * (not held when not listed), and the voters a JoinRaft answer vouched for while it catches up.
 * Mutable: a test changes it between two messages to see the change take effect at once.
 */
interface State {
  voters: string[];
  learners: string[];
  store: Record<string, RaftStanding>;
  vouched?: string[];
  /** Revoked certificates, as `nodeId/serial`. */
  revoked?: string[];
}

function view(state: State): RaftSenderView {
  return {
    clusterId: () => 'c1',
    seatOf: (id) => (state.voters.includes(id) ? 'voter' : state.learners.includes(id) ? 'learner' : undefined),
    vouchedVoters: () => new Set(state.vouched ?? []),
    storeStanding: (id) => state.store[id] ?? 'not-held',
    isRevoked: (id, serial) => (state.revoked ?? []).includes(`${id}/${serial}`),
  };
}

const manager = (nodeId: string, clusterId = 'c1'): PeerIdentity => ({ nodeId, clusterId, ou: 'tswarm-manager' });

// m1 leads; m2 and m3 are voters; l1 a learner catching up (a promoted worker: the store wants
// it as a manager); d1 a learner whose promotion was undone (the store holds it as a worker, and
// Raft still lists it); r1 was removed (neither in the configuration nor in the store); u1 was
// never a member of anything.
const cluster = () =>
  view({
    voters: ['m1', 'm2', 'm3'],
    learners: ['l1', 'd1'],
    store: { m1: 'manager', m2: 'manager', m3: 'manager', l1: 'manager', d1: 'worker' },
    // m2's certificate before its last role change (say it was promoted, demoted and promoted again).
    revoked: ['m2/AB12'],
  });

describe('judgeRaftSender: who may send which Raft message to a manager', () => {
  const cases: {
    what: string;
    peer: RaftCaller | undefined;
    type: MessageType;
    from?: string;
    verdict: 'accept' | `drop ${string}` | `refuse ${string}`;
  }[] = [
    { what: 'a voter sending MsgApp (the leader)', peer: manager('m1'), type: 'MsgApp', verdict: 'accept' },
    { what: 'a voter sending MsgHeartbeat', peer: manager('m1'), type: 'MsgHeartbeat', verdict: 'accept' },
    {
      what: 'a voter sending MsgTimeoutNow (a handover)',
      peer: manager('m1'),
      type: 'MsgTimeoutNow',
      verdict: 'accept',
    },
    { what: 'a voter asking for a vote', peer: manager('m2'), type: 'MsgVote', verdict: 'accept' },
    { what: 'a voter asking for a pre-vote', peer: manager('m2'), type: 'MsgPreVote', verdict: 'accept' },
    { what: 'a voter answering an append', peer: manager('m2'), type: 'MsgAppResp', verdict: 'accept' },
    { what: 'a voter forwarding a read', peer: manager('m2'), type: 'MsgReadIndex', verdict: 'accept' },
    { what: 'MsgProp from a voter', peer: manager('m2'), type: 'MsgProp', verdict: 'drop local-request' },
    {
      what: 'MsgTransferLeader from a voter',
      peer: manager('m2'),
      type: 'MsgTransferLeader',
      verdict: 'drop local-request',
    },
    { what: 'a learner answering an append', peer: manager('l1'), type: 'MsgAppResp', verdict: 'accept' },
    { what: 'a learner answering a heartbeat', peer: manager('l1'), type: 'MsgHeartbeatResp', verdict: 'accept' },
    {
      what: 'a learner sending MsgApp',
      peer: manager('l1'),
      type: 'MsgApp',
      verdict: 'drop leader-message-from-non-voter',
    },
    {
      what: 'a learner sending MsgSnap',
      peer: manager('l1'),
      type: 'MsgSnap',
      verdict: 'drop leader-message-from-non-voter',
    },
    {
      what: 'a learner sending MsgTimeoutNow',
      peer: manager('l1'),
      type: 'MsgTimeoutNow',
      verdict: 'drop leader-message-from-non-voter',
    },
    { what: 'a learner asking for a vote', peer: manager('l1'), type: 'MsgVote', verdict: 'drop vote-from-non-voter' },
    { what: 'a learner sending MsgProp', peer: manager('l1'), type: 'MsgProp', verdict: 'drop local-request' },
    { what: 'a removed node sending MsgProp', peer: manager('r1'), type: 'MsgProp', verdict: 'refuse not-a-member' },
    {
      what: 'a removed node sending MsgApp at any term',
      peer: manager('r1'),
      type: 'MsgApp',
      verdict: 'refuse not-a-member',
    },
    { what: 'a removed node asking for a vote', peer: manager('r1'), type: 'MsgVote', verdict: 'refuse not-a-member' },
    {
      what: 'a demoted node Raft still lists as a learner',
      peer: manager('d1'),
      type: 'MsgAppResp',
      verdict: 'refuse not-a-manager',
    },
    { what: 'an unknown node', peer: manager('u1'), type: 'MsgHeartbeat', verdict: 'refuse not-a-member' },
    {
      what: 'a manager of another cluster',
      peer: manager('m1', 'c2'),
      type: 'MsgApp',
      verdict: 'refuse other-cluster',
    },
    {
      what: 'a worker certificate',
      peer: { nodeId: 'm1', clusterId: 'c1', ou: 'tswarm-worker' },
      type: 'MsgApp',
      verdict: 'refuse not-a-manager-certificate',
    },
    {
      what: 'a member speaking for another',
      peer: manager('m2'),
      from: 'm1',
      type: 'MsgApp',
      verdict: 'refuse sender-not-caller',
    },
    { what: 'no certificate', peer: undefined, type: 'MsgApp', from: 'm1', verdict: 'refuse no-identity' },
    {
      what: 'a voter presenting a revoked certificate',
      peer: { ...manager('m2'), serial: 'AB12' },
      type: 'MsgVote',
      verdict: 'refuse certificate-revoked',
    },
    {
      what: 'a voter presenting its current certificate',
      peer: { ...manager('m2'), serial: 'CD34' },
      type: 'MsgVote',
      verdict: 'accept',
    },
    {
      what: 'the same serial under another node',
      peer: { ...manager('m1'), serial: 'AB12' },
      type: 'MsgApp',
      verdict: 'accept',
    },
  ];

  it.each(cases)('$what: $verdict', ({ peer, type, from, verdict }) => {
    const v = judgeRaftSender(peer, { type, from: from ?? peer!.nodeId }, cluster());
    expect(v.accept ? 'accept' : `${v.refuseCaller ? 'refuse' : 'drop'} ${v.reason}`).toBe(verdict);
  });

  it('with the real store view: a leader being demoted may still hand over, a promoted learner may answer, a demoted one may not', async () => {
    const t = testStore();
    await addCluster(t.store);
    await addNode(t.store, { id: 'm1', role: 'manager', desiredRole: 'worker' });
    await addNode(t.store, { id: 'm2', role: 'manager' });
    await addNode(t.store, { id: 'l1', role: 'worker', desiredRole: 'manager' });
    await addNode(t.store, { id: 'd1', role: 'worker' });
    const store = storeMembership(t.replica, 'c1');
    const seats = view({ voters: ['m1', 'm2'], learners: ['l1', 'd1'], store: {} });
    const real: RaftSenderView = { ...seats, storeStanding: (id) => store.raftStanding(id) };
    const verdict = (from: string, type: MessageType) => judgeRaftSender(manager(from), { type, from }, real);
    expect(verdict('m1', 'MsgTimeoutNow').accept).toBe(true);
    expect(verdict('l1', 'MsgAppResp').accept).toBe(true);
    expect(verdict('d1', 'MsgAppResp')).toMatchObject({ reason: 'not-a-manager', refuseCaller: true });
  });

  it('a store that does not hold a member yet is no verdict: the bootstrap snapshot names the first voter, and holds no node', () => {
    const restored = view({ voters: ['m1'], learners: [], store: {} });
    expect(judgeRaftSender(manager('m1'), { type: 'MsgApp', from: 'm1' }, restored).accept).toBe(true);
  });

  it('a joining member takes leader messages from the voters its JoinRaft answer vouched for, until it has caught up with the answer', () => {
    // Before the snapshot: no configuration, an empty store.
    const state: State = { voters: [], learners: [], store: {}, vouched: ['m1', 'm2'] };
    const joining = view(state);
    for (const type of ['MsgApp', 'MsgSnap', 'MsgHeartbeat'] as const)
      expect(judgeRaftSender(manager('m2'), { type, from: 'm2' }, joining).accept).toBe(true);
    expect(judgeRaftSender(manager('r1'), { type: 'MsgSnap', from: 'r1' }, joining)).toMatchObject({
      reason: 'not-a-member',
    });
    expect(judgeRaftSender(manager('m2'), { type: 'MsgProp', from: 'm2' }, joining)).toMatchObject({
      reason: 'local-request',
    });
    // After the bootstrap snapshot: its configuration names m1 only, though m2 (joined later) leads.
    state.voters = ['m1'];
    expect(judgeRaftSender(manager('m2'), { type: 'MsgApp', from: 'm2' }, joining).accept).toBe(true);
    // Caught up with the answer (the view vouches for no one any more): the configuration decides.
    state.vouched = [];
    expect(judgeRaftSender(manager('m2'), { type: 'MsgApp', from: 'm2' }, joining)).toMatchObject({
      reason: 'not-a-member',
    });
  });

  it('decides from the state of each message, not of the stream: a removal takes effect at the next message', () => {
    const state: State = { voters: ['m1', 'm2', 'm3'], learners: [], store: { m3: 'manager' } };
    const call = {
      getAuthContext: () => ({
        sslPeerCertificate: { subject: { CN: 'm3', OU: 'tswarm-manager', O: 'c1' } } as unknown as PeerCertificate,
      }),
    } as unknown as ServerReadableStream<unknown, unknown>;
    const judge = raftSenderAuthorizer(view(state))(call);
    expect(judge({ type: 'MsgAppResp', from: 'm3' }).accept).toBe(true);
    state.voters = ['m1', 'm2'];
    expect(judge({ type: 'MsgAppResp', from: 'm3' })).toMatchObject({ reason: 'not-a-member', refuseCaller: true });
    state.voters = ['m1', 'm2', 'm3'];
    state.store = { m3: 'worker' };
    expect(judge({ type: 'MsgAppResp', from: 'm3' })).toMatchObject({ reason: 'not-a-manager', refuseCaller: true });
  });

  it('reads the serial of the stream’s certificate, in any hex case, against the real store’s revocations', async () => {
    const t = testStore();
    await addCluster(t.store);
    await addNode(t.store, { id: 'm3', role: 'manager' });
    const store = storeMembership(t.replica, 'c1');
    const state: State = { voters: ['m1', 'm3'], learners: [], store: { m3: 'manager' } };
    const real: RaftSenderView = { ...view(state), isRevoked: (id, serial) => store.isRevoked(id, serial) };
    const streamWith = (serialNumber: string) =>
      ({
        getAuthContext: () => ({
          sslPeerCertificate: {
            subject: { CN: 'm3', OU: 'tswarm-manager', O: 'c1' },
            serialNumber,
          } as unknown as PeerCertificate,
        }),
      }) as unknown as ServerReadableStream<unknown, unknown>;
    const judge = raftSenderAuthorizer(real)(streamWith('00ab12'));
    expect(judge({ type: 'MsgAppResp', from: 'm3' }).accept).toBe(true);
    await t.store.update((tx, s) => {
      const n = s.get('node', 'm3')!;
      n.certificate!.revoked = [{ serial: 'AB12', notAfterMs: Date.now() + 3_600_000, role: n.role }];
      tx.update('node', n);
    });
    expect(judge({ type: 'MsgAppResp', from: 'm3' })).toMatchObject({
      reason: 'certificate-revoked',
      refuseCaller: true,
    });
    expect(raftSenderAuthorizer(real)(streamWith('CD34'))({ type: 'MsgAppResp', from: 'm3' }).accept).toBe(true);
  });
});
