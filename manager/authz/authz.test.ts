import { describe, expect, it } from 'vitest';
import type { PeerCertificate } from 'node:tls';
import { TswarmError } from '../../lib/errors.js';
import { checkAllowed, identifyCaller, type MembershipView, type Role } from './authz.js';

function call(subject?: Record<string, string>) {
  return {
    getAuthContext: () => ({ sslPeerCertificate: subject ? ({ subject } as unknown as PeerCertificate) : undefined }),
    getPeer: () => 'ipv4:127.0.0.1:1',
  };
}

const roles = new Map<string, Role>([
  ['m1', 'manager'],
  ['w1', 'worker'],
  ['demoted', 'worker'],
]);
const membership: MembershipView = { clusterId: () => 'c1', roleOf: (id) => roles.get(id) };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as TswarmError).code;
  }
  return 'ok';
}

describe('authorization', () => {
  it('takes the role from the store, not the certificate OU', () => {
    const caller = identifyCaller(call({ CN: 'demoted', OU: 'tswarm-manager', O: 'c1' }), membership);
    expect(caller).toEqual({ kind: 'node', nodeId: 'demoted', role: 'worker' });
    expect(codeOf(() => checkAllowed(caller, ['manager'], 'ListNodes'))).toBe('NOT_A_MANAGER');
  });

  it('refuses a removed node and a node of another cluster, though their certificates verify', () => {
    expect(codeOf(() => identifyCaller(call({ CN: 'gone', OU: 'tswarm-worker', O: 'c1' }), membership))).toBe(
      'PERMISSION_DENIED',
    );
    expect(codeOf(() => identifyCaller(call({ CN: 'm1', OU: 'tswarm-manager', O: 'other' }), membership))).toBe(
      'PERMISSION_DENIED',
    );
  });

  it('lets anonymous callers reach only methods that allow them', () => {
    const anon = identifyCaller(call(), membership);
    expect(anon).toEqual({ kind: 'anonymous' });
    expect(codeOf(() => checkAllowed(anon, ['anonymous', 'worker', 'manager'], 'GetRootCACertificate'))).toBe('ok');
    expect(codeOf(() => checkAllowed(anon, ['worker', 'manager'], 'Heartbeat'))).toBe('UNAUTHENTICATED');
  });

  it('lets managers and workers through where allowed', () => {
    const m = identifyCaller(call({ CN: 'm1', OU: 'tswarm-manager', O: 'c1' }), membership);
    const w = identifyCaller(call({ CN: 'w1', OU: 'tswarm-worker', O: 'c1' }), membership);
    expect(codeOf(() => checkAllowed(m, ['manager'], 'ListNodes'))).toBe('ok');
    expect(codeOf(() => checkAllowed(w, ['worker', 'manager'], 'Heartbeat'))).toBe('ok');
  });
});
