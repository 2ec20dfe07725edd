import { describe, expect, it } from 'vitest';
import { NodeRole, type NodeCertificate, type RevokedCertificate } from '../../gen/tswarm/v1/objects.js';
import { isRevoked, normalizeSerial, peerSerial, REVOKED_PER_NODE_MAX, revokedAfterRenewal } from './revocation.js';
import { newNodeObject } from '../store/cluster-objects.js';
import { NodeAvailability } from '../../gen/tswarm/v1/objects.js';
import type { PeerCertificate } from 'node:tls';
import { newCluster } from '../store/new-cluster.js';
import { ManualClock } from '../../lib/clock.js';
import { parseNodeCertificate } from '../../ca/node-certificate.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { loadRootCA } from '../ca/root-ca.js';
import { issueNodeCertificate } from '../ca/sign-certificate.js';

/** A certificate for `role` from a real (throwaway) CA: revokedAfterRenewal parses its serial and end. */
async function certificate(role: 'manager' | 'worker', nowMs: number): Promise<{ pem: string; serial: string }> {
  const clock = new ManualClock(nowMs);
  const nc = await newCluster(undefined, clock);
  const ca = await loadRootCA({
    certPem: nc.cluster.rootCa!.caCertPem.toString(),
    keyPem: nc.cluster.rootCa!.caKeyPem.toString(),
  });
  const pem = await issueNodeCertificate({
    ca,
    csrPem: (await createKeyAndCsr()).csrPem,
    identity: { nodeId: 'n1', role, clusterId: nc.cluster.id },
    validityMs: 3_600_000,
    clock,
  });
  return { pem, serial: normalizeSerial(parseNodeCertificate(pem).serial) };
}

const held = (pem: string, role: NodeRole, revoked: RevokedCertificate[] = []): NodeCertificate => ({
  csrPem: Buffer.alloc(0),
  certificatePem: Buffer.from(pem),
  state: 0,
  message: '',
  role,
  revoked,
});

describe('certificate revocation by serial', () => {
  it('normalizes serials to upper-case hex without leading zeros or separators', () => {
    expect(normalizeSerial('00ab:cd:01')).toBe('ABCD01');
    expect(normalizeSerial('ABCD01')).toBe('ABCD01');
    expect(normalizeSerial('000')).toBe('0');
    expect(peerSerial({ serialNumber: '0fe1' } as PeerCertificate)).toBe('FE1');
    expect(peerSerial(undefined)).toBeUndefined();
  });

  it('revokes the leaf of a stored chain (a certificate issued during a root rotation carries the cross-signed root)', async () => {
    const nowMs = 10_000;
    const leaf = await certificate('manager', nowMs);
    const other = await certificate('worker', nowMs); // any second PEM block after the leaf
    const after = revokedAfterRenewal(
      held(leaf.pem + other.pem, NodeRole.NODE_ROLE_MANAGER),
      NodeRole.NODE_ROLE_WORKER,
      nowMs,
    );
    expect(after.map((r) => r.serial)).toEqual([leaf.serial]);
  });

  it('revokes the previous certificate only when the role changes', async () => {
    const nowMs = 10_000;
    const worker = await certificate('worker', nowMs);
    expect(revokedAfterRenewal(held(worker.pem, NodeRole.NODE_ROLE_WORKER), NodeRole.NODE_ROLE_WORKER, nowMs)).toEqual(
      [],
    );
    const after = revokedAfterRenewal(held(worker.pem, NodeRole.NODE_ROLE_WORKER), NodeRole.NODE_ROLE_MANAGER, nowMs);
    expect(after).toEqual([{ serial: worker.serial, notAfterMs: expect.any(Number), role: NodeRole.NODE_ROLE_WORKER }]);
    expect(after[0]!.notAfterMs).toBeGreaterThan(nowMs);
    // Recorded once, however often it is asked.
    expect(
      revokedAfterRenewal(held(worker.pem, NodeRole.NODE_ROLE_WORKER, after), NodeRole.NODE_ROLE_MANAGER, nowMs),
    ).toEqual(after);
  });

  it('drops expired entries and keeps at most REVOKED_PER_NODE_MAX, the newest', async () => {
    const nowMs = 10_000;
    const manager = await certificate('manager', nowMs);
    const old: RevokedCertificate[] = Array.from({ length: REVOKED_PER_NODE_MAX }, (_, i) => ({
      serial: `A${i}`,
      notAfterMs: i === 0 ? nowMs : nowMs + 1_000,
      role: NodeRole.NODE_ROLE_WORKER,
    }));
    const after = revokedAfterRenewal(
      held(manager.pem, NodeRole.NODE_ROLE_MANAGER, old),
      NodeRole.NODE_ROLE_WORKER,
      nowMs,
    );
    expect(after).toHaveLength(REVOKED_PER_NODE_MAX);
    expect(after.map((r) => r.serial)).not.toContain('A0'); // expired
    expect(after.at(-1)!.serial).toBe(manager.serial);
    const full = [...old.slice(1), { serial: 'B', notAfterMs: nowMs + 1_000, role: NodeRole.NODE_ROLE_WORKER }];
    const bounded = revokedAfterRenewal(
      held(manager.pem, NodeRole.NODE_ROLE_MANAGER, full),
      NodeRole.NODE_ROLE_WORKER,
      nowMs,
    );
    expect(bounded).toHaveLength(REVOKED_PER_NODE_MAX);
    expect(bounded[0]!.serial).toBe('A2'); // the oldest left
  });

  it('answers whether a node revoked a serial', () => {
    const node = newNodeObject({
      id: 'n1',
      role: 'worker',
      hostname: 'h',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      certificatePem: '',
    });
    node.certificate!.revoked = [{ serial: 'AB12', notAfterMs: 1, role: NodeRole.NODE_ROLE_MANAGER }];
    expect(isRevoked(node, 'AB12')).toBe(true);
    expect(isRevoked(node, 'AB13')).toBe(false);
    expect(isRevoked(undefined, 'AB12')).toBe(false);
    expect(isRevoked(node, undefined)).toBe(false);
  });
});
