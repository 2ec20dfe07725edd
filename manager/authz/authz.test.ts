import { describe, expect, it } from 'vitest';
import type { PeerCertificate } from 'node:tls';
import { checkAllowed, identifyCaller, type MembershipView, type Role } from './authz.js';
import { thrownCode } from '../../lib/testing/error-codes.js';

function call(subject?: Record<string, string>, serialNumber = '01') {
  return {
    getAuthContext: () => ({
      sslPeerCertificate: subject ? ({ subject, serialNumber } as unknown as PeerCertificate) : undefined,
    }),
    getPeer: () => 'ipv4:127.0.0.1:1',
  };
}

const roles = new Map<string, Role>([
  ['m1', 'manager'],
  ['w1', 'worker'],
  ['demoted', 'worker'],
]);
const membership: MembershipView = {
  clusterId: () => 'c1',
  roleOf: (id) => roles.get(id),
  // The demoted node's old manager certificate, serial AB12 (normalized).
  isRevoked: (id, serial) => id === 'demoted' && serial === 'AB12',
};

describe('authorization', () => {
  it('takes the role from the store, not the certificate OU', () => {
    const caller = identifyCaller(call({ CN: 'demoted', OU: 'tswarm-manager', O: 'c1' }), membership);
    expect(caller).toEqual({ kind: 'node', nodeId: 'demoted', role: 'worker' });
    expect(thrownCode(() => checkAllowed(caller, ['manager'], 'ListNodes'))).toBe('NOT_A_MANAGER');
  });

  it('refuses a removed node and a node of another cluster, though their certificates verify', () => {
    expect(thrownCode(() => identifyCaller(call({ CN: 'gone', OU: 'tswarm-worker', O: 'c1' }), membership))).toBe(
      'NODE_REMOVED',
    );
    expect(thrownCode(() => identifyCaller(call({ CN: 'm1', OU: 'tswarm-manager', O: 'other' }), membership))).toBe(
      'PERMISSION_DENIED',
    );
  });

  it('refuses a revoked serial of a member with its own code, except for the renewal', () => {
    const old = { CN: 'demoted', OU: 'tswarm-manager', O: 'c1' };
    for (const serial of ['AB12', 'ab12', '00AB12'])
      expect(
        thrownCode(() => identifyCaller(call(old, serial), membership, 'tswarm.v1.ControlService.listNodes')),
      ).toBe('CERTIFICATE_REVOKED');
    expect(identifyCaller(call(old, 'AB12'), membership, 'tswarm.v1.NodeCAService.issueNodeCertificate')).toEqual({
      kind: 'node',
      nodeId: 'demoted',
      role: 'worker',
    });
    // Its current certificate, and the same serial under another node, are not revoked.
    expect(thrownCode(() => identifyCaller(call({ ...old, OU: 'tswarm-worker' }, 'CD34'), membership))).toBe('ok');
    expect(thrownCode(() => identifyCaller(call({ CN: 'w1', OU: 'tswarm-worker', O: 'c1' }, 'AB12'), membership))).toBe(
      'ok',
    );
    // A removed node is told it was removed, whatever its serial.
    expect(
      thrownCode(() => identifyCaller(call({ CN: 'gone', OU: 'tswarm-worker', O: 'c1' }, 'AB12'), membership)),
    ).toBe('NODE_REMOVED');
  });

  it('lets anonymous callers reach only methods that allow them', () => {
    const anon = identifyCaller(call(), membership);
    expect(anon).toEqual({ kind: 'anonymous' });
    expect(thrownCode(() => checkAllowed(anon, ['anonymous', 'worker', 'manager'], 'GetRootCACertificate'))).toBe('ok');
    expect(thrownCode(() => checkAllowed(anon, ['worker', 'manager'], 'Heartbeat'))).toBe('UNAUTHENTICATED');
  });

  it('lets managers and workers through where allowed', () => {
    const m = identifyCaller(call({ CN: 'm1', OU: 'tswarm-manager', O: 'c1' }), membership);
    const w = identifyCaller(call({ CN: 'w1', OU: 'tswarm-worker', O: 'c1' }), membership);
    expect(thrownCode(() => checkAllowed(m, ['manager'], 'ListNodes'))).toBe('ok');
    expect(thrownCode(() => checkAllowed(w, ['worker', 'manager'], 'Heartbeat'))).toBe('ok');
  });
});
