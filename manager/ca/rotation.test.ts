import { once } from 'node:events';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';
import { NodeAvailability, NodeState, type Node } from '../../gen/tswarm/v1/objects.js';
import { caBundleDigest, parseJoinToken } from '../../ca/join-token.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { parseNodeCertificate } from '../../ca/node-certificate.js';
import { newCluster } from '../store/new-cluster.js';
import { newNodeObject } from '../store/cluster-objects.js';
import { testStore } from '../store/testing/test-store.js';
import { CertificateIssuer } from './issuer.js';
import { createRootCA, loadRootCA } from './root-ca.js';
import { issueNodeCertificate } from './sign-certificate.js';
import {
  crossSign,
  finishRotation,
  issuedBy,
  leafPem,
  pemCertificates,
  planRotation,
  rotationProgress,
  signingAuthority,
  trustBundle,
  validateSigningRoot,
} from './rotation.js';

// Real time: the TLS handshakes check validity against the system clock.
const NOW_MS = Date.now();
const noRequest = { forceRotate: 1, signingCaCertPem: '', signingCaKeyPem: '' };

async function leaf(ca: Awaited<ReturnType<typeof loadRootCA>>, nodeId: string, clock: ManualClock) {
  const { keyPem, csrPem } = await createKeyAndCsr();
  const certPem = await issueNodeCertificate({
    ca,
    csrPem,
    identity: { nodeId, role: 'manager', clusterId: 'c1' },
    clock,
  });
  return { keyPem, certPem };
}

/** One TLS handshake on loopback: the server presents `chain`, the client trusts `caPem` only. */
async function handshake(chain: { keyPem: string; certPem: string }, caPem: string): Promise<string | undefined> {
  const server = createServer({ key: chain.keyPem, cert: chain.certPem }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string | undefined>((resolve) => {
      const c = connect({
        host: '127.0.0.1',
        port,
        ca: caPem,
        servername: 'tswarm-manager',
        checkServerIdentity: () => undefined,
      });
      c.once('secureConnect', () => {
        c.destroy();
        resolve(undefined);
      });
      c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

describe('root CA rotation: cross-signing and chains', () => {
  it('a new-root certificate with the cross-signed copy verifies against the old root alone, the new alone, and both', async () => {
    const clock = new ManualClock(NOW_MS);
    const oldRoot = await createRootCA(clock);
    const newRoot = await createRootCA(clock, 'tswarm-root-ca-2');
    const cross = await crossSign(oldRoot, newRoot.certPem);
    const crossCert = new X509Certificate(cross);
    // The cross-signed copy: the new root's name and key, issued by the old root.
    expect(crossCert.subject).toBe(new X509Certificate(newRoot.certPem).subject);
    expect(crossCert.checkIssued(new X509Certificate(oldRoot.certPem))).toBe(true);
    expect(crossCert.verify(new X509Certificate(oldRoot.certPem).publicKey)).toBe(true);
    expect(crossCert.publicKey.equals(new X509Certificate(newRoot.certPem).publicKey)).toBe(true);
    expect(crossCert.ca).toBe(true);

    const node = await leaf(await loadRootCA(newRoot), 'n1', clock);
    expect(issuedBy(node.certPem, newRoot.certPem)).toBe(true);
    expect(issuedBy(node.certPem, oldRoot.certPem)).toBe(false);
    const chain = { keyPem: node.keyPem, certPem: node.certPem + cross };
    expect(await handshake(chain, oldRoot.certPem)).toBeUndefined();
    expect(await handshake(chain, newRoot.certPem)).toBeUndefined();
    expect(await handshake(chain, oldRoot.certPem + newRoot.certPem)).toBeUndefined();
    // Without the cross-signed copy, a node trusting only the old root cannot verify it.
    expect(await handshake(node, oldRoot.certPem)).toBeDefined();
  });

  it('after the rotation, a certificate of the old root fails against the new root alone', async () => {
    const clock = new ManualClock(NOW_MS);
    const oldRoot = await createRootCA(clock);
    const newRoot = await createRootCA(clock, 'tswarm-root-ca-2');
    const forged = await leaf(await loadRootCA(oldRoot), 'victim', clock);
    expect(await handshake(forged, oldRoot.certPem)).toBeUndefined();
    expect(await handshake(forged, newRoot.certPem)).toBeDefined();
    // Not even with the cross-signed copy attached: it certifies the new key, not the old.
    const cross = await crossSign(oldRoot, newRoot.certPem);
    expect(await handshake({ ...forged, certPem: forged.certPem + cross }, newRoot.certPem)).toBeDefined();
  });
});

describe('root CA rotation: planning', () => {
  async function cluster() {
    const nc = await newCluster(undefined, new ManualClock(NOW_MS));
    return nc;
  }

  it('a raised force-rotate starts a rotation: new root and key, cross-signed by the old key; the same value does nothing', async () => {
    const { cluster: c } = await cluster();
    const root = c.rootCa!;
    expect(await planRotation(root, { ...noRequest, forceRotate: 0 }, new ManualClock(NOW_MS))).toBeUndefined();
    const rotating = (await planRotation(root, noRequest, new ManualClock(NOW_MS)))!;
    const r = rotating.rootRotation!;
    expect(rotating.lastForcedRotation).toBe(1);
    expect(rotating.caCertPem).toEqual(root.caCertPem);
    expect(rotating.caKeyPem).toEqual(root.caKeyPem);
    expect(issuedBy(r.crossSignedCaCertPem.toString(), root.caCertPem.toString())).toBe(true);
    expect(trustBundle(rotating)).toBe(root.caCertPem.toString() + r.caCertPem.toString());
    expect(signingAuthority(rotating).ca.certPem).toBe(r.caCertPem.toString());
    expect(signingAuthority(rotating).chainPem).toBe(r.crossSignedCaCertPem.toString());
    expect(await planRotation(rotating, noRequest, new ManualClock(NOW_MS))).toBeUndefined();
  });

  it('an operator root is validated: CA, self-signed, key matching, not expired, not the current key', async () => {
    const clock = new ManualClock(NOW_MS);
    const { cluster: c } = await cluster();
    const given = await createRootCA(clock, 'operator-root');
    const ok = (await planRotation(
      c.rootCa!,
      { forceRotate: 0, signingCaCertPem: given.certPem, signingCaKeyPem: given.keyPem },
      clock,
    ))!;
    expect(ok.rootRotation!.caCertPem.toString()).toBe(given.certPem);
    const other = await createRootCA(clock, 'other');
    const message = async (certPem: string, keyPem: string, atMs = NOW_MS) => {
      try {
        validateSigningRoot(certPem, keyPem, atMs);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await message(given.certPem, other.keyPem)).toMatch(/key does not match its certificate/);
    expect(await message(given.certPem, '')).toMatch(/no key/);
    expect(await message('not a cert', given.keyPem)).toMatch(/exactly one PEM certificate, found 0/);
    expect(await message(given.certPem, given.keyPem, NOW_MS + 21 * 365 * 24 * 3600 * 1000)).toMatch(/expired/);
    expect(await message(given.certPem, given.keyPem, NOW_MS + 19.5 * 365 * 24 * 3600 * 1000)).toMatch(
      /expires too soon/,
    );
    const nodeCert = await leaf(await loadRootCA(given), 'n1', clock);
    expect(await message(nodeCert.certPem, nodeCert.keyPem)).toMatch(/not a CA certificate/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(await message(given.certPem, rsa.toString())).toMatch(/not an ECDSA P-256 key/);
    const current = { certPem: c.rootCa!.caCertPem.toString(), keyPem: c.rootCa!.caKeyPem.toString() };
    expect(
      await rejectedCode(
        planRotation(
          c.rootCa!,
          { forceRotate: 0, signingCaCertPem: current.certPem, signingCaKeyPem: current.keyPem },
          clock,
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
  });

  it('completes only when every node, down ones too, holds a certificate of the new root; then new root, key and tokens alone', async () => {
    const clock = new ManualClock(NOW_MS);
    const { cluster: c } = await cluster();
    const rotating = (await planRotation(c.rootCa!, noRequest, clock))!;
    const oldCa = await loadRootCA({ certPem: c.rootCa!.caCertPem.toString(), keyPem: c.rootCa!.caKeyPem.toString() });
    const newCa = await loadRootCA(signingAuthority(rotating).ca);
    const node = (id: string, certPem: string, state = NodeState.NODE_STATE_READY): Node => ({
      ...newNodeObject({
        id,
        role: 'worker',
        hostname: id,
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
        certificatePem: certPem,
      }),
      status: { state, message: '', addr: '' },
    });
    const a = node('a', (await leaf(newCa, 'a', clock)).certPem + signingAuthority(rotating).chainPem);
    const b = node('b', (await leaf(oldCa, 'b', clock)).certPem, NodeState.NODE_STATE_DOWN);
    const isDown = (n: Node) => n.status?.state === NodeState.NODE_STATE_DOWN;
    const p = rotationProgress(rotating, [a, b], isDown);
    expect(p.converged).toEqual(['a']);
    expect(p.lagging).toEqual([{ nodeId: 'b', hostname: 'b', reason: expect.stringMatching(/^down/) }]);
    const b2 = node('b', (await leaf(newCa, 'b', clock)).certPem);
    expect(rotationProgress(rotating, [a, b2], isDown).lagging).toEqual([]);

    const done = finishRotation(rotating)!;
    expect(done.rootRotation).toBeUndefined();
    expect(done.caCertPem).toEqual(rotating.rootRotation!.caCertPem);
    expect(done.caKeyPem).toEqual(rotating.rootRotation!.caKeyPem);
    expect(done.caKeyPem.toString()).not.toBe(c.rootCa!.caKeyPem.toString());
    expect(trustBundle(done)).toBe(done.caCertPem.toString());
    const digest = caBundleDigest(done.caCertPem.toString());
    expect(done.caCertDigest).toBe(digest.toString('hex'));
    for (const t of [done.joinTokens!.worker, done.joinTokens!.manager])
      expect(parseJoinToken(t).caDigest).toEqual(digest);
    expect(done.joinTokens!.worker).not.toBe(c.rootCa!.joinTokens!.worker);
  });
});

describe('the issuer during a rotation', () => {
  it('signs with the new key, sends the cross-signed copy and both roots; joins still work with the current tokens', async () => {
    const t = testStore();
    const nc = await newCluster(undefined, t.clock);
    const rotating = (await planRotation(nc.cluster.rootCa!, noRequest, t.clock))!;
    await t.store.update((tx) => {
      tx.create('cluster', { ...nc.cluster, rootCa: rotating });
      tx.create(
        'node',
        newNodeObject({ id: nc.nodeId, role: 'manager', hostname: 'm1', availability: 1, certificatePem: nc.certPem }),
      );
    });
    const issuer = new CertificateIssuer(t.store, t.clock);
    const joined = await issuer.issue(
      {
        csrPem: (await createKeyAndCsr()).csrPem,
        token: nc.cluster.rootCa!.joinTokens!.worker,
        hostname: 'w1',
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      { kind: 'anonymous' },
    );
    const certs = pemCertificates(joined.certificatePem);
    expect(certs).toHaveLength(2);
    expect(issuedBy(certs[0]!, rotating.rootRotation!.caCertPem.toString())).toBe(true);
    expect(certs[1]).toBe(rotating.rootRotation!.crossSignedCaCertPem.toString());
    expect(joined.rootCaPem).toBe(trustBundle(rotating));
    expect(parseNodeCertificate(leafPem(joined.certificatePem)).identity.role).toBe('worker');
    const renewed = await issuer.issue(
      { csrPem: (await createKeyAndCsr()).csrPem, token: '', hostname: '', availability: 0 },
      { kind: 'node', nodeId: nc.nodeId, role: 'manager' },
    );
    expect(issuedBy(renewed.certificatePem, rotating.rootRotation!.caCertPem.toString())).toBe(true);
    expect(t.store.replica.get('node', nc.nodeId)!.certificate!.certificatePem.toString()).toBe(renewed.certificatePem);
  });
});
