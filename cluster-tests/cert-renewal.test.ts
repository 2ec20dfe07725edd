import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { parseNodeCertificate } from '../ca/node-certificate.js';
import { TEST_SHORT_CERTS_ENV } from '../ca/limits.js';

// Certificates renew themselves between 50 % and 80 % of their life, without a restart: with the
// test-only short lifetime (20 s) that happens within seconds, and the nodes keep talking.
const name = `cr${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const LIFETIME_MS = 20_000;

const certOf = async (host: string) =>
  parseNodeCertificate(await readFile(join(labPaths.dataDir(lab!.name, host), 'certificates', 'node.pem'), 'utf8'));

describe('certificate renewal', () => {
  const saved = process.env[TEST_SHORT_CERTS_ENV];
  beforeAll(async () => {
    // The daemons check the lifetime too (POST /swarm/init): they inherit this test's environment.
    process.env[TEST_SHORT_CERTS_ENV] = '1';
    lab = await Lab.up({ name, managers: 1, workers: 1 });
  });
  afterAll(async () => {
    await lab?.down();
    if (saved === undefined) delete process.env[TEST_SHORT_CERTS_ENV];
    else process.env[TEST_SHORT_CERTS_ENV] = saved;
  });

  it('renews worker and manager certificates in time, and the cluster keeps working on them', async () => {
    const init = await lab!.exec('m1', [
      'env',
      'TSWARM_TEST_ALLOW_SHORT_CERTS=1',
      'tswarm',
      'init',
      '--cert-expiry',
      '20s',
    ]);
    expect(init.code, init.stderr).toBe(0);
    const token = (await lab!.exec('m1', ['tswarm', 'join-token', 'worker', '-q'])).stdout.trim();
    expect((await lab!.exec('w1', ['tswarm', 'join', '--token', token, '192.168.77.11:2377'])).code).toBe(0);
    const first = await certOf('w1');
    // Issued with the cluster's lifetime (backdated an hour for clock skew).
    expect(first.notAfterMs - (first.notBeforeMs + 3_600_000)).toBeLessThanOrEqual(LIFETIME_MS + 1_000);
    const daemonPid = lab!.hosts.find((h) => h.name === 'w1')!.pid;
    const renewed = await waitFor(
      async () => {
        const c = await certOf('w1');
        return c.serial !== first.serial ? c : undefined;
      },
      { what: 'w1 to renew its certificate', timeoutMs: LIFETIME_MS * 2, intervalMs: 250 },
    );
    expect(renewed.identity).toEqual(first.identity);
    const managerFirst = (await certOf('m1')).serial;
    await waitFor(async () => (await certOf('m1')).serial !== managerFirst || undefined, {
      what: 'm1 to renew',
      timeoutMs: LIFETIME_MS * 2,
      intervalMs: 250,
    });
    // Past the first certificates' expiry, the nodes still talk (on the renewed ones), no restart.
    await waitFor(() => Date.now() > first.notAfterMs + 2_000 || undefined, {
      what: 'the first certificate to expire',
      timeoutMs: LIFETIME_MS * 2,
      intervalMs: 250,
    });
    await waitFor(
      async () => {
        const r = await lab!.exec('m1', ['tswarm', 'node', 'ls', '--format', 'json']);
        const nodes = JSON.parse(r.stdout) as { hostname: string; status: string }[];
        return nodes.length === 2 && nodes.every((n) => n.status === 'Ready');
      },
      { what: 'both nodes Ready on renewed certificates', timeoutMs: 15_000, intervalMs: 250 },
    );
    expect((await lab!.status()).find((h) => h.name === 'w1')!.pid).toBe(daemonPid);
  });
});
