import { afterEach, describe, expect, it } from 'vitest';
import {
  Server,
  makeGenericClientConstructor,
  type ChannelCredentials,
  type ServiceDefinition,
  type ServiceError,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import { createRootCA } from '../manager/ca/root-ca.js';
import {
  caOnlyCredentials,
  clientCredentials,
  MANAGER_CHANNEL_OPTIONS,
  peerIdentity,
  serverCredentials,
  TlsMaterialProvider,
  unverifiedBootstrapCredentials,
} from './tls.js';
import { generateKeyPair, privateKeyToPem, SIGNING_ALGORITHM, x509 } from '../ca/x509.js';
import { managerIdentityMismatch } from './manager-identity.js';
import { nodeTlsMaterial } from '../manager/ca/testing/node-material.js';

// Real TLS on 127.0.0.1 with certificates from our own CA: who the server sees calling.
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const service: ServiceDefinition = {
  whoAmI: {
    path: '/test.Who/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const Client = makeGenericClientConstructor(service, 'Who');

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function serve(provider: TlsMaterialProvider): Promise<number> {
  const server = new Server();
  const whoAmI: handleUnaryCall<unknown, unknown> = (call, cb) => cb(null, { identity: peerIdentity(call) ?? null });
  server.addService(service, { whoAmI });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(provider), (e, p) => (e ? reject(e) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return port;
}

function ask(port: number, creds: ChannelCredentials): Promise<unknown> {
  const client = new Client(`127.0.0.1:${port}`, creds, MANAGER_CHANNEL_OPTIONS);
  cleanups.push(() => client.close());
  return new Promise((resolve, reject) => {
    (
      client as unknown as Record<
        string,
        (r: unknown, o: object, cb: (e: ServiceError | null, v: unknown) => void) => void
      >
    )['whoAmI']!({}, { deadline: Date.now() + 5000 }, (e, v) =>
      e ? reject(e) : resolve((v as { identity: unknown }).identity),
    );
  });
}

describe('mutual TLS', () => {
  it('shows the server a client certificate’s node, role and cluster; none for a joining node', async () => {
    const ca = await createRootCA();
    const port = await serve(
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: 'mgr1', role: 'manager', clusterId: 'c1' })),
    );
    const worker = new TlsMaterialProvider(
      await nodeTlsMaterial(ca, { nodeId: 'wrk1', role: 'worker', clusterId: 'c1' }),
    );
    expect(await ask(port, clientCredentials(worker))).toEqual({
      nodeId: 'wrk1',
      ou: 'tswarm-worker',
      clusterId: 'c1',
    });
    expect(await ask(port, caOnlyCredentials(ca.certPem))).toBeNull();
    expect(await ask(port, unverifiedBootstrapCredentials())).toBeNull();
  });

  it('gives a forged self-signed "manager" certificate no identity', async () => {
    const ca = await createRootCA();
    const port = await serve(
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: 'mgr1', role: 'manager', clusterId: 'c1' })),
    );
    const keys = await generateKeyPair();
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=evil, OU=tswarm-manager, O=c1',
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
    });
    const creds = clientCredentials(
      new TlsMaterialProvider({
        caPem: ca.certPem,
        keyPem: await privateKeyToPem(keys.privateKey),
        certPem: forged.toString('pem'),
      }),
    );
    const result = await ask(port, creds).catch(() => 'refused');
    expect(result === null || result === 'refused').toBe(true);
  });

  it('refuses a server from another cluster, and a renewed server certificate takes effect without restart', async () => {
    const ca1 = await createRootCA();
    const ca2 = await createRootCA();
    const provider = new TlsMaterialProvider(
      await nodeTlsMaterial(ca1, { nodeId: 'mgr1', role: 'manager', clusterId: 'c1' }),
    );
    const port = await serve(provider);
    expect(await ask(port, caOnlyCredentials(ca1.certPem))).toBeNull();
    await expect(ask(port, caOnlyCredentials(ca2.certPem))).rejects.toMatchObject({ code: 14 });
    provider.update(await nodeTlsMaterial(ca2, { nodeId: 'mgr1', role: 'manager', clusterId: 'c1' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await ask(port, caOnlyCredentials(ca2.certPem))).toBeNull();
  });
});

describe('dialling a manager: the node checks which manager answers', () => {
  it('accepts the expected manager, and refuses another manager of the cluster naming both node IDs', async () => {
    const ca = await createRootCA();
    const managerB = await serve(
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: 'mgrB', role: 'manager', clusterId: 'c1' })),
    );
    const worker = new TlsMaterialProvider(
      await nodeTlsMaterial(ca, { nodeId: 'wrk1', role: 'worker', clusterId: 'c1' }),
    );
    const addr = `127.0.0.1:${managerB}`;
    await expect(ask(managerB, clientCredentials(worker, { addr, nodeIds: ['mgrA'] }))).rejects.toMatchObject({
      code: 14,
      details: expect.stringMatching(
        new RegExp(`the manager at ${addr} presented node mgrB's certificate, expected one of mgrA`),
      ),
    });
    expect(await ask(managerB, clientCredentials(worker, { addr, nodeIds: ['mgrA', 'mgrB'] }))).toMatchObject({
      nodeId: 'wrk1',
    });
    // The very first contact, knowing no manager yet: any manager of this cluster.
    expect(await ask(managerB, clientCredentials(worker, { addr, nodeIds: [] }))).toMatchObject({ nodeId: 'wrk1' });
  });

  it('refuses a server whose certificate is not a manager’s, or is of another cluster under the same root', async () => {
    const ca = await createRootCA();
    const workerServer = await serve(
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: 'wrk9', role: 'worker', clusterId: 'c1' })),
    );
    const otherCluster = await serve(
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: 'mgrA', role: 'manager', clusterId: 'c2' })),
    );
    const worker = new TlsMaterialProvider(
      await nodeTlsMaterial(ca, { nodeId: 'wrk1', role: 'worker', clusterId: 'c1' }),
    );
    // A worker certificate has no `tswarm-manager` DNS name: the name check refuses it first.
    await expect(ask(workerServer, clientCredentials(worker))).rejects.toMatchObject({ code: 14 });
    await expect(
      ask(otherCluster, clientCredentials(worker, { addr: 'there', nodeIds: ['mgrA'] })),
    ).rejects.toMatchObject({
      details: expect.stringContaining('a certificate of cluster c2, not of this cluster (c1)'),
    });
  });
});

describe('managerIdentityMismatch', () => {
  const subject = (CN: string, OU: string, O: string) => ({ subject: { CN, OU, O } as never });
  it('names what it found and what it expected', () => {
    const at = { addr: '10.0.0.2:2377', nodeIds: ['a', 'b'] };
    expect(managerIdentityMismatch(subject('a', 'tswarm-manager', 'c1'), 'c1', at)).toBeUndefined();
    expect(managerIdentityMismatch(subject('x', 'tswarm-manager', 'c1'), 'c1', at)).toBe(
      "the manager at 10.0.0.2:2377 presented node x's certificate, expected one of a, b",
    );
    expect(managerIdentityMismatch(subject('a', 'tswarm-worker', 'c1'), 'c1', at)).toContain('not a manager');
    expect(managerIdentityMismatch(subject('a', 'tswarm-manager', 'c2'), 'c1', at)).toContain('cluster c2');
    expect(
      managerIdentityMismatch(subject('x', 'tswarm-manager', 'c1'), 'c1', { addr: '', nodeIds: [] }),
    ).toBeUndefined();
  });
});
