import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyAndCsr } from '../ca/csr.js';
import { parseNodeCertificate, verifyNodeCertificate } from '../ca/node-certificate.js';
import { renewalDelayMs } from '../ca/renewal.js';
import { ManualClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import { SeededRandom } from '../lib/random.js';
import { TlsMaterialProvider } from '../lib/tls.js';
import { createRootCA, loadRootCA } from '../manager/ca/root-ca.js';
import { issueNodeCertificate } from '../manager/ca/sign-certificate.js';
import { RENEW_RETRY_MS, RenewalScheduler, renewCertificate } from './renewal.js';
import { FAKE_CLUSTER_ID, startFakeCaManager, type FakeCaManager } from './testing/fake-ca-manager.js';

const HOUR_MS = 3600 * 1000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A certificate issued at the clock's now, living `lifeMs`. */
async function certificateAt(clock: ManualClock, lifeMs: number): Promise<string> {
  const ca = await loadRootCA(await createRootCA(clock));
  const { csrPem } = await createKeyAndCsr();
  return issueNodeCertificate({
    ca,
    csrPem,
    identity: { nodeId: 'n1', role: 'worker', clusterId: 'c1' },
    validityMs: lifeMs,
    clock,
  });
}

/** Lets settled promise callbacks run (the scheduler reacts to renew() in a .then). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function scheduler(clock: ManualClock, certPem: () => string | undefined, renew: () => Promise<void>, seed: number) {
  return new RenewalScheduler({
    clock,
    random: new SeededRandom(seed),
    log: silentLogger(),
    certificatePem: certPem,
    renew,
  });
}

describe('renewal scheduling', () => {
  it('renews at the point of the certificate’s life the random source picks, then schedules again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const certPem = await certificateAt(clock, 100 * HOUR_MS);
    const cert = parseNodeCertificate(certPem);
    const expectedDelay = renewalDelayMs(cert.notBeforeMs, cert.notAfterMs, clock.nowMs(), new SeededRandom(7));
    expect(expectedDelay).toBeGreaterThanOrEqual(50 * HOUR_MS);
    expect(expectedDelay).toBeLessThanOrEqual(80 * HOUR_MS);
    let renewals = 0;
    const s = scheduler(
      clock,
      () => certPem,
      async () => void renewals++,
      7,
    );
    s.schedule();
    clock.advance(expectedDelay - 1);
    expect(renewals).toBe(0);
    clock.advance(1);
    expect(renewals).toBe(1);
    await settle();
    expect(clock.pendingTimers()).toBe(1);
  });

  it('waits out a renewal point beyond the longest timer instead of renewing when that timer fires', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const DAY_MS = 24 * HOUR_MS;
    const certPem = await certificateAt(clock, 365 * DAY_MS); // renewal at 182-292 days, beyond 24.8
    let renewals = 0;
    const s = scheduler(
      clock,
      () => certPem,
      async () => void renewals++,
      11,
    );
    s.schedule();
    clock.advance(182 * DAY_MS - HOUR_MS); // several of the longest timers fire meanwhile
    expect(renewals).toBe(0);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(111 * DAY_MS);
    expect(renewals).toBe(1);
  });

  it('retries a failed renewal 30 s later', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const certPem = await certificateAt(clock, 100 * HOUR_MS);
    let renewals = 0;
    const s = scheduler(
      clock,
      () => certPem,
      async () => {
        renewals++;
        throw new Error('no manager answered');
      },
      3,
    );
    s.schedule();
    clock.advance(80 * HOUR_MS);
    expect(renewals).toBe(1);
    await settle();
    // The retry timer reschedules from the certificate: now past its renewal point, so it renews at once.
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(RENEW_RETRY_MS - 1);
    expect(renewals).toBe(1);
    clock.advance(1);
    expect(renewals).toBe(2);
  });

  it('schedules nothing for a node out of the swarm, and cancel() stops a pending renewal', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const certPem = await certificateAt(clock, 100 * HOUR_MS);
    let renewals = 0;
    const out = scheduler(
      clock,
      () => undefined,
      async () => void renewals++,
      1,
    );
    out.schedule();
    expect(clock.pendingTimers()).toBe(0);
    const s = scheduler(
      clock,
      () => certPem,
      async () => void renewals++,
      1,
    );
    s.schedule();
    expect(clock.pendingTimers()).toBe(1);
    s.cancel();
    clock.advance(100 * HOUR_MS);
    expect(renewals).toBe(0);
  });
});

describe('renewing the certificate', () => {
  async function joinedNode(m: FakeCaManager) {
    const { keyPem, csrPem } = await createKeyAndCsr();
    const certPem = await issueNodeCertificate({
      ca: await loadRootCA(m.ca),
      csrPem,
      identity: { nodeId: 'worker7', role: 'worker', clusterId: FAKE_CLUSTER_ID },
    });
    return new TlsMaterialProvider({ caPem: m.ca.certPem, keyPem, certPem });
  }

  it('gets a new key and certificate over mutual TLS, saves them, and puts them in use', async () => {
    const m = await startFakeCaManager();
    cleanups.push(() => m.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'tswarm-renewal-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const tls = await joinedNode(m);
    const before = tls.current;
    let renewed = 0;
    await renewCertificate({
      managerAddr: m.addr,
      tls: () => tls,
      dataDir,
      log: silentLogger(),
      onRenewed: () => renewed++,
    });
    expect(renewed).toBe(1);
    expect(m.requests).toHaveLength(1);
    expect(m.requests[0]!.caller?.nodeId).toBe('worker7');
    expect(m.requests[0]!.request.token).toBe('');
    const after = tls.current;
    expect(after.certPem).not.toBe(before.certPem);
    expect(after.keyPem).not.toBe(before.keyPem);
    expect(after.caPem).toBe(m.ca.certPem);
    expect(parseNodeCertificate(after.certPem).identity.nodeId).toBe('worker7');
    expect(await verifyNodeCertificate(after.certPem, m.ca.certPem, Date.now())).toBe(true);
    expect(await readFile(join(dataDir, 'certificates', 'node.pem'), 'utf8')).toBe(after.certPem);
    expect(await readFile(join(dataDir, 'certificates', 'node.key'), 'utf8')).toBe(after.keyPem);
  });
});
