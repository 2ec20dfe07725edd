import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { SeededRandom } from '../../lib/random.js';
import { TswarmError } from '../../lib/errors.js';
import { BACKDATE_MS, caBundleDigest, createRootCA, loadRootCA } from './root-ca.js';
import {
  createKeyAndCsr,
  issueNodeCertificate,
  parseNodeCertificate,
  verifyNodeCertificate,
  MANAGER_DNS_NAME,
} from '../../ca/node-certificate.js';
import { createJoinToken, parseJoinToken, sameSecret } from '../../ca/join-token.js';
import { renewalDelayMs } from '../../ca/renewal.js';
import { x509 } from '../../ca/x509.js';

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

describe('join tokens', () => {
  it('round-trips and pins the CA digest', async () => {
    const ca = await createRootCA();
    const token = createJoinToken(caBundleDigest(ca.certPem));
    expect(token.text).toMatch(/^TSWTKN-1-[0-9a-z]{50}-[0-9a-z]{25}-[0-9a-z]{4}$/);
    const parsed = parseJoinToken(`  ${token.text}\n`);
    expect(parsed.caDigest.equals(caBundleDigest(ca.certPem))).toBe(true);
    expect(sameSecret(parsed, token)).toBe(true);
    expect(sameSecret(parsed, createJoinToken(parsed.caDigest))).toBe(false);
  });

  it('catches every single-character typo and truncation locally', () => {
    const token = createJoinToken(Buffer.alloc(32, 7), new SeededRandom(1)).text;
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
    for (let i = 9; i < token.length; i++) {
      if (token[i] === '-') continue;
      const replacement = alphabet[(alphabet.indexOf(token[i]!) + 1) % 36]!;
      const typo = token.slice(0, i) + replacement + token.slice(i + 1);
      expect(() => parseJoinToken(typo), `typo at ${i}`).toThrow(/checksum does not match|not a valid join token/);
    }
    expect(() => parseJoinToken(token.slice(0, -1))).toThrow(/not a valid join token/);
    expect(() => parseJoinToken('SWMTKN-1-abc')).toThrow(/must look like TSWTKN-1-/);
  });
});

describe('renewal', () => {
  it('falls between 50 % and 80 % of the life counted from issuance', () => {
    const issued = 1_000_000_000;
    const life = 100 * HOUR_MS;
    const random = new SeededRandom(42);
    for (let i = 0; i < 200; i++) {
      const delay = renewalDelayMs(issued - BACKDATE_MS, issued + life, issued, random);
      expect(delay).toBeGreaterThanOrEqual(0.5 * life);
      expect(delay).toBeLessThanOrEqual(0.8 * life);
    }
    expect(renewalDelayMs(issued - BACKDATE_MS, issued + life, issued + life, random)).toBe(0);
  });
});
