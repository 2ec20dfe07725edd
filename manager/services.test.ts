import { describe, expect, it } from 'vitest';
import { Metadata, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { fromServiceError } from '../lib/errors.js';
import { ManualClock } from '../lib/clock.js';
import { FORWARDED_FOR_METADATA_KEY, type Caller, type MembershipView, type Role } from './authz/authz.js';
import { AnonymousRateLimiter } from './authz/anonymous-gate.js';
import type { LeaderForwarder } from './forward.js';
import { REQUEST_ID_METADATA_KEY } from '../lib/request-id.js';
import { managerServices, POLICIES, type CallContext, type ManagerHandlers } from './services.js';

const roles = new Map<string, Role>([
  ['m1', 'manager'],
  ['w1', 'worker'],
]);
/** Revoked certificates, as `nodeId/serial` (normalized serials). */
const revoked = new Set<string>(['w1/DEAD01']);
const membership: MembershipView = {
  clusterId: () => 'c1',
  roleOf: (id) => roles.get(id),
  isRevoked: (id, serial) => revoked.has(`${id}/${serial}`),
};

/** What each handler and the forwarder were called with, by method name. */
function setup(leader = true, clock = new ManualClock()) {
  const ran: { method: string; caller: Caller }[] = [];
  const forwarded: { service: string; method: string; caller: Caller }[] = [];
  /** The request ID each handler ran with, and each forwarded call carried, in call order. */
  const requestIds: string[] = [];
  let readBarriers = 0;
  const handler =
    (method: string) =>
    async (_req: unknown, caller?: Caller, ctx?: CallContext): Promise<never> => {
      ran.push({ method, caller: caller ?? { kind: 'anonymous' } });
      requestIds.push(ctx?.requestId ?? '');
      return {} as never;
    };
  const control = Object.fromEntries(
    Object.keys(POLICIES['tswarm.v1.ControlService']).map((m) => [m, handler(m)]),
  ) as unknown as ManagerHandlers['control'];
  const h: ManagerHandlers = {
    isLeader: () => leader,
    readBarrier: async () => void readBarriers++,
    rootCaPem: () => 'the CA',
    issueCertificate: handler('issueNodeCertificate'),
    certificateStatus: handler('nodeCertificateStatus'),
    heartbeat: handler('heartbeat'),
    session: handler('session') as unknown as ManagerHandlers['session'],
    assignments: handler('assignments') as unknown as ManagerHandlers['assignments'],
    updateTaskStatus: handler('updateTaskStatus'),
    listenSubscriptions: handler('listenSubscriptions') as unknown as ManagerHandlers['listenSubscriptions'],
    publishLogs: handler('publishLogs'),
    joinRaft: handler('joinRaft'),
    leaveRaft: handler('leaveRaft'),
    control,
  };
  const forwarder = {
    forward: async (_d: unknown, service: string, method: string, _req: unknown, caller: Caller, id: string) => {
      forwarded.push({ service, method, caller });
      requestIds.push(id);
      return {};
    },
  } as unknown as LeaderForwarder;
  const anonymous = new AnonymousRateLimiter(clock, { burst: 2, perSecond: 1, sourcesMax: 16 });
  const services = managerServices(h, membership, forwarder, anonymous);
  const byName = new Map<string, UntypedServiceImplementation>();
  for (const s of services) {
    const first = Object.values(s.definition)[0]!;
    byName.set(first.path.split('/')[1]!, s.implementation);
  }
  /** Calls a method as a caller with this certificate subject (none: anonymous); resolves with the error code or 'ok'. */
  const call = (
    service: string,
    method: string,
    cn?: string,
    from: { peer: string; forwardedFor: string; requestId?: string } = { peer: 'ipv4:127.0.0.1:1', forwardedFor: '' },
    serialNumber = '0A11CE',
  ): Promise<string> =>
    new Promise((resolve) => {
      const subject = cn ? { CN: cn, OU: 'tswarm-worker', O: 'c1' } : undefined;
      const metadata = new Metadata();
      if (from.forwardedFor) metadata.set(FORWARDED_FOR_METADATA_KEY, from.forwardedFor);
      if (from.requestId) metadata.set(REQUEST_ID_METADATA_KEY, from.requestId);
      const fakeCall = {
        request: {},
        metadata,
        // A server stream's end or error, and a client stream's (empty) messages.
        emit: (event: string, err: ServiceError) => event === 'error' && resolve(fromServiceError(err).code),
        end: () => resolve('ok'),
        on: () => undefined,
        async *[Symbol.asyncIterator]() {},
        getPeer: () => from.peer,
        getAuthContext: () => ({
          sslPeerCertificate: subject ? ({ subject, serialNumber } as unknown as PeerCertificate) : undefined,
        }),
      };
      const impl = byName.get(service)![method] as (c: unknown, cb: (e: ServiceError | null) => void) => void;
      impl(fakeCall, (err) => resolve(err ? fromServiceError(err).code : 'ok'));
    });
  return { services, ran, forwarded, requestIds, readBarriers: () => readBarriers, call };
}

describe('manager services: who may call what', () => {
  it('declares roles for every method served, each a method of the service definition', () => {
    const { services } = setup();
    const served = services.map((s) => Object.values(s.definition)[0]!.path.split('/')[1]);
    expect(served.sort()).toEqual(Object.keys(POLICIES).sort());
    for (const s of services) {
      const name = Object.values(s.definition)[0]!.path.split('/')[1] as keyof typeof POLICIES;
      const policy: Record<string, readonly string[]> = POLICIES[name];
      expect(Object.keys(s.implementation).sort(), name).toEqual(Object.keys(policy).sort());
      for (const method of Object.keys(policy)) expect(Object.keys(s.definition), name).toContain(method);
      for (const [method, allowed] of Object.entries(policy)) expect(allowed.length, method).toBeGreaterThan(0);
    }
  });

  it('refuses a worker on every manager-only method, before its handler runs', async () => {
    const { ran, forwarded, call } = setup();
    for (const [service, policy] of Object.entries(POLICIES))
      for (const [method, allowed] of Object.entries(policy as Record<string, readonly string[]>))
        if (!allowed.includes('worker')) expect(await call(service, method, 'w1'), method).toBe('NOT_A_MANAGER');
    expect(ran).toEqual([]);
    expect(forwarded).toEqual([]);
  });

  it('lets a caller without a certificate reach only the join endpoints', async () => {
    const { ran, call } = setup();
    expect(await call('tswarm.v1.CAService', 'getRootCaCertificate')).toBe('ok');
    expect(await call('tswarm.v1.NodeCAService', 'issueNodeCertificate')).toBe('ok');
    expect(await call('tswarm.v1.DispatcherService', 'heartbeat')).toBe('UNAUTHENTICATED');
    expect(await call('tswarm.v1.ControlService', 'listNodes')).toBe('UNAUTHENTICATED');
    expect(ran.map((r) => r.method)).toEqual(['issueNodeCertificate']);
  });

  it('rate-limits calls without a certificate per source address, and neither members nor forwarded calls', async () => {
    const clock = new ManualClock();
    const { ran, call } = setup(true, clock);
    const from = (peer: string, forwardedFor = '') => ({ peer, forwardedFor });
    const issue = (f = from('ipv4:10.0.0.9:4000')) =>
      call('tswarm.v1.NodeCAService', 'issueNodeCertificate', undefined, f);
    expect(await call('tswarm.v1.CAService', 'getRootCaCertificate', undefined, from('ipv4:10.0.0.9:4000'))).toBe('ok');
    expect(await issue()).toBe('ok');
    expect(await issue(from('ipv4:10.0.0.9:4001'))).toBe('RESOURCE_EXHAUSTED'); // another port, the same host
    expect(await issue(from('ipv4:10.0.0.8:4000'))).toBe('ok');
    // A follower's forwarding of anonymous joins from 10.0.0.9 (it admitted them), and members.
    for (let i = 0; i < 5; i++) {
      expect(
        await call('tswarm.v1.NodeCAService', 'issueNodeCertificate', 'm1', from('ipv4:10.0.0.9:1', 'anonymous')),
      ).toBe('ok');
      expect(await call('tswarm.v1.NodeCAService', 'issueNodeCertificate', 'w1', from('ipv4:10.0.0.9:1'))).toBe('ok');
    }
    clock.advance(1_000);
    expect(await issue()).toBe('ok');
    expect(ran.filter((r) => r.method === 'issueNodeCertificate')).toHaveLength(13);
  });

  it('refuses a node the store does not hold', async () => {
    const { ran, call } = setup();
    expect(await call('tswarm.v1.DispatcherService', 'heartbeat', 'gone')).toBe('NODE_REMOVED');
    expect(ran).toEqual([]);
  });

  it('refuses a revoked certificate everywhere but the renewal, which it may retry', async () => {
    const { ran, call } = setup();
    const asRevoked = (service: string, method: string) =>
      // The serial as TLS shows it: upper case, with a leading zero byte the store does not keep.
      call(service, method, 'w1', { peer: 'ipv4:127.0.0.1:1', forwardedFor: '' }, '00dead01');
    expect(await asRevoked('tswarm.v1.DispatcherService', 'heartbeat')).toBe('CERTIFICATE_REVOKED');
    expect(await asRevoked('tswarm.v1.NodeCAService', 'nodeCertificateStatus')).toBe('CERTIFICATE_REVOKED');
    expect(await asRevoked('tswarm.v1.RaftMembershipService', 'joinRaft')).toBe('CERTIFICATE_REVOKED');
    expect(ran).toEqual([]);
    expect(await asRevoked('tswarm.v1.NodeCAService', 'issueNodeCertificate')).toBe('ok');
    // The node's current certificate (another serial) is not touched.
    expect(await call('tswarm.v1.DispatcherService', 'heartbeat', 'w1')).toBe('ok');
    expect(ran.map((r) => r.method)).toEqual(['issueNodeCertificate', 'heartbeat']);
  });

  it('on a follower, forwards leader-only methods with the original caller and runs the rest locally', async () => {
    const { ran, forwarded, call } = setup(false);
    expect(await call('tswarm.v1.DispatcherService', 'heartbeat', 'w1')).toBe('ok');
    expect(await call('tswarm.v1.ControlService', 'updateNode', 'm1')).toBe('ok');
    expect(await call('tswarm.v1.NodeCAService', 'nodeCertificateStatus', 'w1')).toBe('ok');
    expect(forwarded).toEqual([
      {
        service: 'tswarm.v1.DispatcherService',
        method: 'heartbeat',
        caller: { kind: 'node', nodeId: 'w1', role: 'worker' },
      },
      {
        service: 'tswarm.v1.ControlService',
        method: 'updateNode',
        caller: { kind: 'node', nodeId: 'm1', role: 'manager' },
      },
    ]);
    expect(ran).toEqual([{ method: 'nodeCertificateStatus', caller: { kind: 'node', nodeId: 'w1', role: 'worker' } }]);
  });

  it('serves the control API’s reads on any manager after a read barrier, never forwarding them', async () => {
    for (const leader of [false, true]) {
      const t = setup(leader);
      for (const method of ['getNode', 'listNodes', 'getCluster', 'listClusters'])
        expect(await t.call('tswarm.v1.ControlService', method, 'm1'), method).toBe('ok');
      expect(t.forwarded).toEqual([]);
      expect(t.ran.map((r) => r.method)).toEqual(['getNode', 'listNodes', 'getCluster', 'listClusters']);
      expect(t.readBarriers()).toBe(4);
    }
  });

  it('keeps the request ID a call came with, forwarded or not, and gives one to a call that had none', async () => {
    const from = (requestId: string) => ({ peer: 'ipv4:127.0.0.1:1', forwardedFor: '', requestId });
    const follower = setup(false);
    await follower.call('tswarm.v1.ControlService', 'removeNode', 'm1', from('retry-me'));
    await follower.call('tswarm.v1.ControlService', 'removeNode', 'm1', from('retry-me'));
    expect(follower.requestIds).toEqual(['retry-me', 'retry-me']);
    const leader = setup(true);
    await leader.call('tswarm.v1.ControlService', 'updateCluster', 'm1', from('mine'));
    await leader.call('tswarm.v1.ControlService', 'updateCluster', 'm1');
    await leader.call('tswarm.v1.ControlService', 'updateCluster', 'm1');
    const [given, fresh1, fresh2] = leader.requestIds;
    expect(given).toBe('mine');
    expect(fresh1).toMatch(/^[0-9a-z]{25}$/);
    expect(fresh2).not.toBe(fresh1);
  });

  it('runs leader-only methods locally on the leader', async () => {
    const { ran, forwarded, call } = setup(true);
    expect(await call('tswarm.v1.RaftMembershipService', 'leaveRaft', 'm1')).toBe('ok');
    expect(forwarded).toEqual([]);
    expect(ran.map((r) => r.method)).toEqual(['leaveRaft']);
  });

  it('refuses to build a service with a method that has no policy', () => {
    const h = {
      isLeader: () => true,
      rootCaPem: () => '',
      control: { bogus: async () => ({}) },
    } as unknown as ManagerHandlers;
    expect(() => managerServices(h, membership, {} as LeaderForwarder)).toThrow(/has no authorization policy/);
  });
});
