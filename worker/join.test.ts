import { afterEach, describe, expect, it } from 'vitest';
import { NodeAvailability } from '../gen/tswarm/v1/objects.js';
import { caBundleDigest, createJoinToken } from '../ca/join-token.js';
import { parseNodeCertificate, verifyNodeCertificate } from '../ca/node-certificate.js';
import { TswarmError } from '../lib/errors.js';
import { createRootCA } from '../manager/ca/root-ca.js';
import { checkRootCA, fetchRootCA, joinHandshake } from './join.js';
import { FAKE_CLUSTER_ID, JOINED_NODE_ID, startFakeCaManager, type FakeCaManager } from './testing/fake-ca-manager.js';

const managers: FakeCaManager[] = [];
afterEach(() => {
  while (managers.length) managers.pop()!.close();
});

async function manager(options?: { servedCaPem?: string }): Promise<FakeCaManager> {
  const m = await startFakeCaManager(options);
  managers.push(m);
  return m;
}

async function failure(p: Promise<unknown>): Promise<TswarmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TswarmError);
  return err as TswarmError;
}

describe('join handshake', () => {
  it('pins the CA from the token, sends the token with a CSR, and gets a certificate from that CA', async () => {
    const m = await manager();
    const token = createJoinToken(caBundleDigest(m.ca.certPem));
    const joined = await joinHandshake({
      managerAddr: m.addr,
      token,
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      hostname: 'host1',
    });
    expect(joined.caPem).toBe(m.ca.certPem);
    const certPem = joined.issued.certificatePem.toString();
    expect(await verifyNodeCertificate(certPem, m.ca.certPem, Date.now())).toBe(true);
    expect(parseNodeCertificate(certPem).identity).toEqual({
      nodeId: JOINED_NODE_ID,
      role: 'worker',
      clusterId: FAKE_CLUSTER_ID,
    });
    expect(joined.keyPem).toContain('BEGIN PRIVATE KEY');
    expect(m.requests).toHaveLength(1);
    expect(m.requests[0]!.caller).toBeUndefined();
    expect(m.requests[0]!.request).toMatchObject({
      token: token.text,
      hostname: 'host1',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    });
  });

  it('refuses a manager whose CA is not the one the token pins, and never sends it the token', async () => {
    const m = await manager();
    const other = await createRootCA();
    const err = await failure(
      joinHandshake({
        managerAddr: m.addr,
        token: createJoinToken(caBundleDigest(other.certPem)),
        availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
        hostname: 'host1',
      }),
    );
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toContain(`the manager at ${m.addr} has a CA that does not match this token`);
    expect(m.requests).toHaveLength(0);
  });

  it('refuses a CA swapped in by a machine in the middle', async () => {
    const impostor = await createRootCA();
    const m = await manager({ servedCaPem: impostor.certPem });
    const err = await failure(fetchRootCA(m.addr, caBundleDigest(m.ca.certPem)));
    expect(err.code).toBe('PERMISSION_DENIED');
  });

  it('reports a manager that does not answer as UNAVAILABLE, naming its address and port', async () => {
    const m = await manager();
    const addr = m.addr;
    m.close();
    const err = await failure(fetchRootCA(addr, caBundleDigest(m.ca.certPem)));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(`cannot reach a manager at ${addr}`);
    expect(err.message).toContain(`that port ${addr.split(':')[1]} is open`);
  });

  it('checks a CA bundle byte for byte against the digest', async () => {
    const ca = await createRootCA();
    expect(() => checkRootCA('m:2377', ca.certPem, caBundleDigest(ca.certPem))).not.toThrow();
    expect(() => checkRootCA('m:2377', `${ca.certPem}\n`, caBundleDigest(ca.certPem))).toThrow(
      /the manager at m:2377 has a CA that does not match this token/,
    );
  });
});
