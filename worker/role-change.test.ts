import { describe, expect, it } from 'vitest';
import type { HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import { NodeRole } from '../gen/tswarm/v1/objects.js';
import { silentLogger } from '../lib/log.js';
import {
  desiredRole,
  managersAfterDemotion,
  promotionJoinAddr,
  roleChangeToStart,
  RoleChanger,
  type RoleChangeSteps,
} from './role-change.js';

function response(role: NodeRole, addrs: string[] = []): HeartbeatResponse {
  return {
    periodMs: 1000,
    desiredRole: role,
    managers: addrs.map((addr, i) => ({ nodeId: `m${i}`, addr, weight: 1 })),
    trustBundlePem: Buffer.alloc(0),
    issuerCaCertPem: Buffer.alloc(0),
  };
}

const MANAGER = NodeRole.NODE_ROLE_MANAGER;
const WORKER = NodeRole.NODE_ROLE_WORKER;

describe('role change decisions', () => {
  it('reads the desired role, and starts a change only when it differs and none is running', () => {
    expect(desiredRole(response(MANAGER))).toBe('manager');
    expect(desiredRole(response(WORKER))).toBe('worker');
    expect(roleChangeToStart(response(MANAGER), 'worker', false)).toBe('manager');
    expect(roleChangeToStart(response(WORKER), 'manager', false)).toBe('worker');
    expect(roleChangeToStart(response(MANAGER), 'manager', false)).toBeUndefined();
    expect(roleChangeToStart(response(WORKER), 'worker', false)).toBeUndefined();
    expect(roleChangeToStart(response(MANAGER), 'worker', true)).toBeUndefined();
  });

  it('follows the managers the response names, and joins Raft through one of them', () => {
    const res = response(WORKER, ['', '10.0.0.1:2377', '10.0.0.2:2377']);
    expect(managersAfterDemotion(res, 'self')).toEqual(['10.0.0.1:2377', '10.0.0.2:2377']);
    // The demoted manager itself (m1 here) is leaving Raft: it is never one of them.
    expect(managersAfterDemotion(res, 'm1')).toEqual(['10.0.0.2:2377']);
    expect(promotionJoinAddr(res, ['10.0.0.9:2377'])).toBe('10.0.0.1:2377');
    expect(promotionJoinAddr(response(MANAGER, ['']), ['10.0.0.9:2377'])).toBe('10.0.0.9:2377');
    expect(promotionJoinAddr(response(MANAGER), [])).toBe('');
  });
});

/** Steps that record what the role changer asked for; `gate` holds renewals until released. */
function recordingSteps(role: 'manager' | 'worker', fail?: string) {
  const calls: string[] = [];
  const failures: string[] = [];
  const node = { nodeId: 'm0', role: role as string, joinAddrs: ['10.0.0.9:2377'] };
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const steps: RoleChangeSteps = {
    log: silentLogger(),
    node: () => node,
    renewCertificate: async (managers) => {
      calls.push(managers.length > 0 ? `renew via ${managers.join(',')}` : 'renew');
      await gate;
    },
    becomeWorker: async (managers) => {
      calls.push(`worker ${managers.join(',')}`);
      node.role = 'worker';
    },
    becomeManager: async (joinAddr) => {
      calls.push(`manager via ${joinAddr}`);
      if (fail) throw new Error(fail);
      node.role = 'manager';
    },
    failed: (message) => failures.push(message),
  };
  return {
    steps,
    calls,
    failures,
    node,
    hold: () => {
      gate = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('role changer', () => {
  it('demotes: a certificate for the new role first, then the worker parts with the named managers', async () => {
    const r = recordingSteps('manager');
    // m0 is this node: its own manager is leaving Raft, so the certificate comes from the others.
    new RoleChanger(r.steps).onHeartbeat(response(WORKER, ['10.0.0.5:2377', '10.0.0.1:2377', '']));
    await settle();
    expect(r.calls).toEqual(['renew via 10.0.0.1:2377', 'worker 10.0.0.1:2377']);
    expect(r.node.role).toBe('worker');
    expect(r.failures).toEqual([]);
  });

  it('runs one change at a time: beats during a change start nothing', async () => {
    const r = recordingSteps('worker');
    r.hold();
    const changer = new RoleChanger(r.steps);
    changer.onHeartbeat(response(MANAGER, ['10.0.0.1:2377']));
    changer.onHeartbeat(response(MANAGER, ['10.0.0.1:2377']));
    await settle();
    expect(r.calls).toEqual(['renew']);
    r.release();
    await settle();
    expect(r.calls).toEqual(['renew', 'manager via 10.0.0.1:2377']);
    changer.onHeartbeat(response(MANAGER, ['10.0.0.1:2377']));
    await settle();
    expect(r.calls).toHaveLength(2);
  });

  it('reports a failed promotion and tries again on a later heartbeat', async () => {
    const r = recordingSteps('worker', 'Raft join refused');
    const changer = new RoleChanger(r.steps);
    changer.onHeartbeat(response(MANAGER));
    await settle();
    expect(r.failures).toEqual(['role change to manager failed: Raft join refused']);
    expect(r.node.role).toBe('worker');
    changer.onHeartbeat(response(MANAGER));
    await settle();
    expect(r.calls).toEqual(['renew', 'manager via 10.0.0.9:2377', 'renew', 'manager via 10.0.0.9:2377']);
    expect(r.failures).toHaveLength(2);
  });
});
