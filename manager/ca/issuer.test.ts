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
import { normalizeSerial } from '../authz/revocation.js';

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

  it('revokes the previous certificate when a renewal changes the role, and nothing on a routine renewal', async () => {
    const { issuer, nc, store, clock } = await setup();
    const w = await issuer.issue(
      {
        csrPem: (await createKeyAndCsr()).csrPem,
        token: nc.cluster.rootCa!.joinTokens!.worker,
        hostname: 'w1',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      { kind: 'anonymous' },
    );
    const renew = async () =>
      (
        await issuer.issue(
          { csrPem: (await createKeyAndCsr()).csrPem, token: '', hostname: '', availability: 0 },
          { kind: 'node', nodeId: w.nodeId, role: 'worker' },
        )
      ).certificatePem;
    const desire = (role: NodeRole) =>
      store.update((tx, s) => {
        const n = s.get('node', w.nodeId)!;
        n.spec!.desiredRole = role;
        tx.update('node', n);
      });
    const serial = (pem: string) => normalizeSerial(parseNodeCertificate(pem).serial);
    const revoked = () => store.get('node', w.nodeId)!.certificate!.revoked.map((r) => r.serial);

    const worker2 = await renew();
    expect(revoked()).toEqual([]);
    await desire(NodeRole.NODE_ROLE_MANAGER);
    const manager1 = await renew();
    expect(revoked()).toEqual([serial(worker2)]);
    expect(store.get('node', w.nodeId)!.certificate!.revoked[0]).toMatchObject({
      notAfterMs: parseNodeCertificate(worker2).notAfterMs,
      role: NodeRole.NODE_ROLE_WORKER,
    });
    // The answer was lost and the node asks again: same role as the last issued, nothing more revoked.
    const manager2 = await renew();
    expect(revoked()).toEqual([serial(worker2)]);
    expect(serial(manager2)).not.toBe(serial(manager1));
    await desire(NodeRole.NODE_ROLE_WORKER);
    await renew();
    expect(revoked()).toEqual([serial(worker2), serial(manager2)]);
    // Once a revoked certificate has expired, the next entry added prunes it.
    clock.advance(parseNodeCertificate(worker2).notAfterMs - clock.nowMs() + 1);
    await desire(NodeRole.NODE_ROLE_MANAGER);
    const manager3 = await renew();
    expect(revoked()).not.toContain(serial(worker2));
    expect(serial(manager3)).not.toBe(serial(manager2));
  });

  it('checks the token before the CSR: a caller without a valid token never has its CSR parsed', async () => {
    const { issuer, nc } = await setup();
    const req = (token: string, csrPem: string) => ({
      csrPem,
      token,
      hostname: 'x',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    });
    // A CSR that would fail verification: the token's refusal comes first.
    const bad = await issuer
      .issue(req(createJoinToken(Buffer.alloc(32)).text, 'not a CSR'), { kind: 'anonymous' })
      .then(
        () => undefined,
        (err: Error) => err.message,
      );
    expect(bad).toMatch(/another cluster’s CA/);
    expect(await rejectedCode(issuer.issue(req('', 'not a CSR'), { kind: 'anonymous' }))).toBe('UNAUTHENTICATED');
    // With a valid token, the CSR is then checked.
    await expect(
      issuer.issue(req(nc.cluster.rootCa!.joinTokens!.worker, 'not a CSR'), { kind: 'anonymous' }),
    ).rejects.toThrow(/not a valid PEM CSR/);
  });

  it.each<[string, { csrPem?: string; token?: string; hostname?: string; availability?: number }, RegExp]>([
    ['an availability outside the enum', { availability: 7 }, /availability 7 is not one of active, pause or drain/],
    ['a negative availability', { availability: -1 }, /availability -1/],
    ['a hostname that is not RFC 1123', { hostname: 'a b' }, /hostname has the label "a b"/],
    ['an empty hostname', { hostname: '' }, /hostname is empty/],
    ['a 254-character hostname', { hostname: 'a'.repeat(254) }, /hostname is longer than 253/],
    ['a 9 KiB CSR', { csrPem: 'x'.repeat(9 * 1024) }, /larger than 8192 bytes/],
    ['a 1 KiB token', { token: 'T'.repeat(1024) }, /join token is longer than 128/],
  ])('refuses a join with %s (INVALID_ARGUMENT), recording nothing', async (_what, change, message) => {
    const { issuer, nc, store } = await setup();
    const req = {
      csrPem: (await createKeyAndCsr()).csrPem,
      token: nc.cluster.rootCa!.joinTokens!.worker,
      hostname: 'w1',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      ...change,
    };
    const joining = issuer.issue(req, { kind: 'anonymous' });
    await expect(joining).rejects.toThrow(message);
    expect(await rejectedCode(joining)).toBe('INVALID_ARGUMENT');
    expect(store.list('node')).toHaveLength(1);
  });

  it('joins with each availability the enum defines, unspecified meaning active', async () => {
    const { issuer, nc, store } = await setup();
    for (const availability of [0, 1, 2, 3]) {
      const w = await issuer.issue(
        {
          csrPem: (await createKeyAndCsr()).csrPem,
          token: nc.cluster.rootCa!.joinTokens!.worker,
          hostname: 'w',
          availability,
        },
        { kind: 'anonymous' },
      );
      expect(store.get('node', w.nodeId)!.spec!.availability).toBe(
        availability || NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      );
    }
  });
});
