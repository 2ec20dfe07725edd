import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { BACKDATE_MS } from '../../ca/limits.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { parseNodeCertificate, verifyNodeCertificate, MANAGER_DNS_NAME } from '../../ca/node-certificate.js';
import { x509 } from '../../ca/x509.js';
import { createRootCA, loadRootCA } from './root-ca.js';
import { issueNodeCertificate } from './sign-certificate.js';

const HOUR_MS = 3600 * 1000;

describe('root CA and node certificates', () => {
  it('issues a manager certificate naming node, role and cluster, backdated an hour, with the manager DNS name', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const ca = await loadRootCA(await createRootCA(clock));
    const { csrPem } = await createKeyAndCsr();
    const pem = await issueNodeCertificate({
      ca,
      csrPem,
      identity: { nodeId: 'node1', role: 'manager', clusterId: 'clusterA' },
      validityMs: 90 * 24 * HOUR_MS,
      clock,
    });
    const parsed = parseNodeCertificate(pem);
    expect(parsed.identity).toEqual({ nodeId: 'node1', role: 'manager', clusterId: 'clusterA' });
    expect(parsed.notBeforeMs).toBe(clock.nowMs() - BACKDATE_MS);
    expect(parsed.notAfterMs).toBe(clock.nowMs() + 90 * 24 * HOUR_MS);
    const san = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.items.map((n) => n.value)).toEqual([MANAGER_DNS_NAME]);
    expect(await verifyNodeCertificate(pem, ca.pem.certPem, clock.nowMs())).toBe(true);
  });

  it('gives workers no manager DNS name, and another CA does not verify them', async () => {
    const ca = await loadRootCA(await createRootCA());
    const other = await createRootCA();
    const { csrPem } = await createKeyAndCsr();
    const pem = await issueNodeCertificate({ ca, csrPem, identity: { nodeId: 'w', role: 'worker', clusterId: 'c' } });
    expect(new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension)).toBeNull();
    expect(parseNodeCertificate(pem).identity.role).toBe('worker');
    expect(await verifyNodeCertificate(pem, other.certPem, Date.now())).toBe(false);
  });

  it('refuses a garbled CSR with a clear error', async () => {
    const ca = await loadRootCA(await createRootCA());
    const err = await issueNodeCertificate({
      ca,
      csrPem: 'nonsense',
      identity: { nodeId: 'n', role: 'worker', clusterId: 'c' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TswarmError);
    expect((err as TswarmError).code).toBe('INVALID_ARGUMENT');
  });
});
