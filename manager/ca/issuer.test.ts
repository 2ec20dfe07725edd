import { describe, expect, it } from 'vitest';
import { NodeAvailability, NodeRole } from '../../gen/tswarm/v1/objects.js';
import { newCluster } from '../store/new-cluster.js';
import { newNodeObject } from '../store/cluster-objects.js';
import { testStore } from '../store/testing/test-store.js';
import { createJoinToken } from '../../ca/join-token.js';
import { CertificateIssuer } from './issuer.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { parseNodeCertificate } from '../../ca/node-certificate.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';

async function setup() {
  const t = testStore();
  const nc = await newCluster(undefined, t.clock);
  await t.store.update((tx) => {
    tx.create('cluster', nc.cluster);
    tx.create(
      'node',
      newNodeObject({
        id: nc.nodeId,
        role: 'manager',
        hostname: 'm1',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
        certificatePem: nc.certPem,
      }),
    );
  });
  return { ...t, nc, issuer: new CertificateIssuer(t.store, t.clock) };
}

describe('certificate issuer', () => {
  it('joins a worker with the worker token and a manager with the manager token', async () => {
    const { issuer, nc, store } = await setup();
    const w = await issuer.issue(
      {
        csrPem: (await createKeyAndCsr()).csrPem,
        token: nc.cluster.rootCa!.joinTokens!.worker,
        hostname: 'w1',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      { kind: 'anonymous' },
    );
    expect(w.role).toBe('worker');
    expect(parseNodeCertificate(w.certificatePem).identity).toEqual({
      nodeId: w.nodeId,
      role: 'worker',
      clusterId: nc.cluster.id,
    });
    expect(store.get('node', w.nodeId)?.role).toBe(NodeRole.NODE_ROLE_WORKER);
    expect(store.get('node', w.nodeId)?.description?.hostname).toBe('w1');
    const m = await issuer.issue(
      {
        csrPem: (await createKeyAndCsr()).csrPem,
        token: nc.cluster.rootCa!.joinTokens!.manager,
        hostname: 'm2',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      { kind: 'anonymous' },
    );
    expect(m.role).toBe('manager');
  });

  it('refuses missing, foreign and rotated tokens', async () => {
    const { issuer, nc, store } = await setup();
    const csrPem = (await createKeyAndCsr()).csrPem;
    const req = (token: string) => ({
      csrPem,
      token,
      hostname: 'x',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    });
    expect(await rejectedCode(issuer.issue(req(''), { kind: 'anonymous' }))).toBe('UNAUTHENTICATED');
    expect(await rejectedCode(issuer.issue(req(createJoinToken(Buffer.alloc(32)).text), { kind: 'anonymous' }))).toBe(
      'PERMISSION_DENIED',
    );
    const old = nc.cluster.rootCa!.joinTokens!.worker;
    await store.update((tx, s) => {
      const c = s.get('cluster', nc.cluster.id)!;
      c.rootCa!.joinTokens!.worker = createJoinToken(Buffer.from(c.rootCa!.caCertDigest, 'hex')).text;
      tx.update('cluster', c);
    });
    expect(await rejectedCode(issuer.issue(req(old), { kind: 'anonymous' }))).toBe('PERMISSION_DENIED');
    expect(store.list('node')).toHaveLength(1);
  });

  it('renews a member over mutual TLS with the same ID and the role the store holds', async () => {
    const { issuer, nc, store } = await setup();
    const w = await issuer.issue(
      {
        csrPem: (await createKeyAndCsr()).csrPem,
        token: nc.cluster.rootCa!.joinTokens!.worker,
        hostname: 'w1',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      { kind: 'anonymous' },
    );
    await store.update((tx, s) => {
      const n = s.get('node', w.nodeId)!;
      n.spec!.desiredRole = NodeRole.NODE_ROLE_MANAGER;
      tx.update('node', n);
    });
    const renewed = await issuer.issue(
      { csrPem: (await createKeyAndCsr()).csrPem, token: '', hostname: '', availability: 0 },
      { kind: 'node', nodeId: w.nodeId, role: 'worker' },
    );
    expect(renewed.nodeId).toBe(w.nodeId);
    expect(parseNodeCertificate(renewed.certificatePem).identity.role).toBe('manager');
    expect(
      await rejectedCode(
        issuer.issue(
          { csrPem: (await createKeyAndCsr()).csrPem, token: '', hostname: '', availability: 0 },
          { kind: 'node', nodeId: 'gone', role: 'worker' },
        ),
      ),
    ).toBe('PERMISSION_DENIED');
  });
});
