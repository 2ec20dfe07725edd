import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { createKeyAndCsr } from '../ca/csr.js';
import type { HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import { NodeRole } from '../gen/tswarm/v1/objects.js';
import { createRootCA, loadRootCA } from '../manager/ca/root-ca.js';
import { issueNodeCertificate } from '../manager/ca/sign-certificate.js';
import { trustActions } from './trust-follower.js';

function response(bundle: string, issuer: string): HeartbeatResponse {
  return {
    periodMs: 1000,
    desiredRole: NodeRole.NODE_ROLE_WORKER,
    managers: [],
    trustBundlePem: Buffer.from(bundle),
    issuerCaCertPem: Buffer.from(issuer),
  };
}

describe('following the cluster’s roots from heartbeats', () => {
  it('takes a new bundle, renews a certificate the signing root did not issue, and does nothing otherwise', async () => {
    const clock = new ManualClock(Date.now());
    const oldRoot = await createRootCA(clock);
    const newRoot = await createRootCA(clock, 'tswarm-root-ca-2');
    const { keyPem, csrPem } = await createKeyAndCsr();
    const certPem = await issueNodeCertificate({
      ca: await loadRootCA(oldRoot),
      csrPem,
      identity: { nodeId: 'n1', role: 'worker', clusterId: 'c1' },
      clock,
    });
    const material = { caPem: oldRoot.certPem, keyPem, certPem };
    expect(trustActions(response(oldRoot.certPem, oldRoot.certPem), material)).toEqual({
      caPem: undefined,
      renew: false,
    });
    const both = oldRoot.certPem + newRoot.certPem;
    expect(trustActions(response(both, newRoot.certPem), material)).toEqual({ caPem: both, renew: true });
    // An answer from a manager that names neither (an older one) asks nothing.
    expect(trustActions(response('', ''), material)).toEqual({ caPem: undefined, renew: false });
  });
});
