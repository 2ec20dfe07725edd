import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../gen/tswarm/v1/objects.js';
import type { UpdateClusterRequest } from '../../gen/tswarm/v1/control.js';
import { parseJoinToken } from '../../ca/join-token.js';
import { NODE_CERT_VALIDITY_MS_MIN } from '../../ca/node-certificate.js';
import { addCluster, testStore } from '../store/testing/test-store.js';
import { redactCluster, updateCluster } from './cluster.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';

async function setup() {
  const t = testStore();
  const cluster = await addCluster(t.store);
  return { ...t, cluster };
}

function request(over: Partial<UpdateClusterRequest> = {}): UpdateClusterRequest {
  return {
    clusterId: 'c1',
    clusterVersion: 0,
    spec: undefined,
    rotateWorkerToken: false,
    rotateManagerToken: false,
    ...over,
  };
}

describe('updateCluster', () => {
  it('rotates only the token asked for, bound to the cluster CA, and answers without the CA key', async () => {
    const t = await setup();
    const res = await updateCluster(t.store, request({ rotateWorkerToken: true }));
    const tokens = t.replica.get('cluster', 'c1')!.rootCa!.joinTokens!;
    expect(tokens.manager).toBe('manager-token');
    expect(tokens.worker).not.toBe('worker-token');
    expect(parseJoinToken(tokens.worker).caDigest.toString('hex')).toBe(t.cluster.rootCa!.caCertDigest);
    expect(res.rootCa!.caKeyPem.length).toBe(0);
    expect(res.rootCa!.joinTokens).toEqual({ worker: '', manager: '' });
    expect(t.replica.get('cluster', 'c1')!.rootCa!.caKeyPem.length).toBeGreaterThan(0);
  });

  it('replaces the spec, and refuses a certificate expiry under an hour', async () => {
    const t = await setup();
    const base = t.cluster.spec!;
    const short: ClusterSpec = {
      ...base,
      caConfig: { ...base.caConfig!, nodeCertExpiryMs: NODE_CERT_VALIDITY_MS_MIN - 1 },
    };
    expect(await rejectedCode(updateCluster(t.store, request({ spec: short })))).toBe('INVALID_ARGUMENT');
    const labelled: ClusterSpec = { ...base, annotations: { name: 'default', labels: { env: 'test' } } };
    await updateCluster(t.store, request({ spec: labelled }));
    expect(t.replica.get('cluster', 'c1')!.spec).toEqual(labelled);
  });

  it('refuses to change the Raft timings fixed at init', async () => {
    const t = await setup();
    const base = t.cluster.spec!;
    for (const raft of [
      { ...base.raft!, tickMs: base.raft!.tickMs + 1 },
      { ...base.raft!, electionTick: base.raft!.electionTick + 1 },
      { ...base.raft!, heartbeatTick: base.raft!.heartbeatTick + 1 },
    ])
      expect(await rejectedCode(updateCluster(t.store, request({ spec: { ...base, raft } })))).toBe(
        'FAILED_PRECONDITION',
      );
    expect(t.replica.get('cluster', 'c1')!.spec).toEqual(base);
  });

  it('refuses a stale cluster version', async () => {
    const t = await setup();
    const read = t.cluster.meta!.version;
    await updateCluster(t.store, request({ clusterVersion: read, rotateManagerToken: true }));
    expect(await rejectedCode(updateCluster(t.store, request({ clusterVersion: read, rotateWorkerToken: true })))).toBe(
      'CONFLICT',
    );
  });
});

describe('redactCluster', () => {
  it('empties the CA key and keeps the rest, join tokens included, for a caller that asks for them', async () => {
    const t = await setup();
    const r = redactCluster(t.cluster, { includeJoinTokens: true });
    expect(r.rootCa!.caKeyPem.length).toBe(0);
    expect(r.rootCa!.caCertPem).toEqual(t.cluster.rootCa!.caCertPem);
    expect(r.rootCa!.joinTokens).toEqual({ worker: 'worker-token', manager: 'manager-token' });
    expect(t.cluster.rootCa!.joinTokens).toEqual({ worker: 'worker-token', manager: 'manager-token' });
  });

  it('empties the join tokens too for a caller that does not ask for them', async () => {
    const t = await setup();
    const r = redactCluster(t.cluster, { includeJoinTokens: false });
    expect(r.rootCa!.caKeyPem.length).toBe(0);
    expect(r.rootCa!.joinTokens).toEqual({ worker: '', manager: '' });
    expect(r.rootCa!.caCertDigest).toBe(t.cluster.rootCa!.caCertDigest);
    expect(r.spec).toEqual(t.cluster.spec);
  });
});
