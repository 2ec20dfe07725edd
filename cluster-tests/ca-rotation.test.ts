import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { builtEntry } from '../lib/paths.js';
import { waitFor } from '../lib/poll.js';
import { createKeyAndCsr } from '../ca/csr.js';
import { issuedBy } from '../ca/chain.js';
import { loadRootCA } from '../manager/ca/root-ca.js';
import { issueNodeCertificate } from '../manager/ca/sign-certificate.js';
import { docker } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';
import { apiGet, storeDigest as digestOf } from './support/attack.js';

// Root CA rotation (docs/security.md, Rotating the root CA): `tswarm swarm ca --rotate` on a lab
// of 3 managers and a worker, no node leaving Ready meanwhile; then the attacker of "After losing
// a manager's disk": the old root key, read from a manager's Raft files, signs a certificate for a
// current manager's node ID, and every port refuses it. A worker joins afterwards with the new
// token (the old one is refused), and the real docker CLI rotates again.
const name = `car${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';
const HOSTS = ['m1', 'm2', 'm3', 'w1'];

const { ok, tswarm, nodeRows, dataDir } = swarmCli(() => lab!);
const api = <T>(host: string, path: string) => apiGet<T>(lab!, host, path);
const storeDigest = (host: string) => digestOf(lab!, host);

interface SwarmView {
  ID: string;
  Version: { Index: number };
  Spec: unknown;
  TLSInfo: { TrustRoot: string };
  RootRotationInProgress: boolean;
  JoinTokens: { Worker: string; Manager: string };
}

/**
 * What an attacker holding a manager's disk does: grep the Raft files (WAL and snapshots hold the
 * store's transactions, the cluster object with its CA key among them, unencrypted) for PEM
 * private keys, and keep the one matching the root certificate.
 */
async function rootKeyFromDisk(host: string, rootPem: string): Promise<string> {
  const want = new X509Certificate(rootPem).publicKey.export({ type: 'spki', format: 'der' });
  const raftDir = join(dataDir(host), 'raft');
  const files = (await readdir(raftDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  for (const f of files) {
    const text = (await readFile(join(f.parentPath, f.name))).toString('latin1');
    for (const pem of text.match(/-----BEGIN PRIVATE KEY-----[A-Za-z0-9+/=\s]+?-----END PRIVATE KEY-----/g) ?? []) {
      const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
      if (spki.equals(want)) return pem + '\n';
    }
  }
  throw new Error(`no key of the root in ${raftDir}`);
}

function probe(script: string): string {
  return builtEntry('cli').replace(/cli[/\\]main\.js$/, script);
}

/** ControlService.ListNodes on `addr` from `from`'s namespace with the certificate files in `certs`. */
async function callAs(from: string, certs: string, addr: string) {
  const r = await lab!.exec(from, [process.execPath, probe('manager/ca/testing/call-as.js'), certs, addr], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`call-as failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ok: boolean; code?: string; message?: string; nodes?: number };
}

/** One Raft MsgApp to `to` from `from`'s namespace with the certificate files in `certs` (raft-trust.test.ts). */
async function raftAppendAs(from: string, certs: string, to: { id: string; addr: string }) {
  const args = [certs, to.addr, to.id, 'app', '1000', '1', '1'];
  const r = await lab!.exec(from, [process.execPath, probe('manager/raft/transport/testing/send-as.js'), ...args], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`send-as failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { from: string; refused: boolean; reason: string };
}

const addrOf = (host: string) => `${lab!.hosts.find((h) => h.name === host)!.addr}:2377`;

async function certificateOf(host: string): Promise<string> {
  return readFile(join(dataDir(host), 'certificates', 'node.pem'), 'utf8');
}

async function trustedOf(host: string): Promise<string> {
  return readFile(join(dataDir(host), 'certificates', 'ca.pem'), 'utf8');
}

/** Samples m1's node list (what `node ls` shows, through the API for denser samples) until `until` settles, recording every node not Ready. */
function sampleReadiness(until: Promise<unknown>) {
  const notReady: string[] = [];
  let samples = 0;
  let done = false;
  void until.finally(() => (done = true));
  const sampling = (async () => {
    while (!done) {
      const rows = await api<{ Description: { Hostname: string }; Status: { State: string } }[]>('m1', '/nodes');
      samples++;
      for (const r of rows)
        if (r.Status.State !== 'ready') notReady.push(`${r.Description.Hostname}: ${r.Status.State}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return { notReady, samples: () => samples, sampling };
}

describe('root CA rotation', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 2 });
    await ok('m1', 'init');
    const managerToken = (await ok('m1', 'join-token', 'manager', '-q')).trim();
    const workerToken = (await ok('m1', 'join-token', 'worker', '-q')).trim();
    for (const h of ['m2', 'm3']) await ok(h, 'join', '--token', managerToken, M1);
    await ok('w1', 'join', '--token', workerToken, M1);
    await waitFor(
      async () => {
        const rows = await nodeRows('m1');
        return rows.length === 4 && rows.every((r) => r.status === 'Ready');
      },
      { what: 'm1, m2, m3 and w1 Ready', timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('rotates with no node leaving Ready; then a certificate signed with the old root key is refused everywhere, and a worker joins with the new token', async () => {
    const before = await api<SwarmView>('m1', '/swarm');
    const oldRoot = before.TLSInfo.TrustRoot;
    const oldWorkerToken = before.JoinTokens.Worker;
    const ids = Object.fromEntries((await nodeRows('m1')).map((r) => [r.hostname, r.id]));

    // The attacker's certificate: m2's node ID, the manager OU, signed with the old root key read
    // from m3's Raft files, trusting both roots to verify the managers (both are public).
    const oldKey = await rootKeyFromDisk('m3', oldRoot);
    const forgedDir = await mkdtemp(join(labPaths.dir(lab!.name), 'forged-'));
    const { keyPem, csrPem } = await createKeyAndCsr();
    const forged = await issueNodeCertificate({
      ca: await loadRootCA({ certPem: oldRoot, keyPem: oldKey }),
      csrPem,
      identity: { nodeId: ids['m2']!, role: 'manager', clusterId: before.ID },
    });
    await writeFile(join(forgedDir, 'node.pem'), forged);
    await writeFile(join(forgedDir, 'node.key'), keyPem);
    await writeFile(join(forgedDir, 'ca.pem'), oldRoot);
    // Before the rotation this is the whole attack: the forged certificate is a manager's.
    expect(await callAs('w1', forgedDir, addrOf('m2'))).toMatchObject({ ok: true, nodes: 4 });

    const started = Date.now();
    const rotation = ok('m1', 'swarm', 'ca', '--rotate');
    const readiness = sampleReadiness(rotation);
    const output = await rotation;
    await readiness.sampling;
    const durationMs = Date.now() - started;
    process.stdout.write(`root rotation finished in ${durationMs} ms (${readiness.samples()} node ls samples)\n`);
    expect(readiness.notReady).toEqual([]);
    expect(readiness.samples()).toBeGreaterThan(0);
    expect(output).toContain('root rotation complete');

    const after = await api<SwarmView>('m1', '/swarm');
    const newRoot = after.TLSInfo.TrustRoot;
    expect(after.RootRotationInProgress).toBe(false);
    expect(newRoot).not.toBe(oldRoot);
    expect(output.trim().endsWith(newRoot.trim())).toBe(true);
    // Every node holds a certificate of the new root and trusts the new root alone.
    await waitFor(
      async () => {
        for (const h of HOSTS)
          if (!issuedBy(await certificateOf(h), newRoot) || (await trustedOf(h)) !== newRoot) return false;
        return true;
      },
      { what: 'every node on the new root alone', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(after.JoinTokens.Worker).not.toBe(oldWorkerToken);

    // The old root key signs nothing anyone accepts any more: not the control API...
    await writeFile(join(forgedDir, 'ca.pem'), oldRoot + newRoot);
    const digestBefore = await storeDigest('m1');
    for (const m of ['m1', 'm2', 'm3']) {
      const r = await callAs('w1', forgedDir, addrOf(m));
      process.stdout.write(`forged control call to ${m}: ${JSON.stringify(r)}\n`);
      expect(r.ok, `${m}: ${JSON.stringify(r)}`).toBe(false);
      expect(['UNAUTHENTICATED', 'PERMISSION_DENIED', 'UNAVAILABLE']).toContain(r.code);
    }
    // ...nor the Raft transport.
    for (const m of ['m1', 'm3']) {
      const r = await raftAppendAs('w1', forgedDir, { id: ids[m]!, addr: addrOf(m) });
      expect(r.from).toBe(ids['m2']);
      process.stdout.write(`forged Raft append to ${m}: ${JSON.stringify(r)}\n`);
      expect(r.refused, `${m}: ${JSON.stringify(r)}`).toBe(true);
    }
    expect(await storeDigest('m1')).toBe(digestBefore);

    // A worker joins with the new token; the old one is refused before anything is sent but the CA fetch.
    const refused = await tswarm('w2', 'join', '--token', oldWorkerToken, M1);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('does not match this token');
    await ok('w2', 'join', '--token', after.JoinTokens.Worker, M1);
    await waitFor(async () => (await nodeRows('m1')).find((r) => r.hostname === 'w2')?.status === 'Ready', {
      what: 'w2 Ready',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    expect(issuedBy(await certificateOf('w2'), newRoot)).toBe(true);
    expect(await trustedOf('w2')).toBe(newRoot);
  });

  it('the real docker CLI rotates again and shows the new root', async () => {
    const before = (await docker(lab!, 'm2', ['swarm', 'ca'])).stdout.trim();
    expect(before).toBe((await api<SwarmView>('m2', '/swarm')).TLSInfo.TrustRoot.trim());
    const started = Date.now();
    const r = await docker(lab!, 'm2', ['swarm', 'ca', '--rotate'], { timeoutMs: 120_000 });
    process.stdout.write(`docker swarm ca --rotate finished in ${Date.now() - started} ms\n`);
    expect(r.code, r.stderr).toBe(0);
    const now = await api<SwarmView>('m2', '/swarm');
    expect(now.RootRotationInProgress).toBe(false);
    expect(now.TLSInfo.TrustRoot.trim()).not.toBe(before);
    expect(r.stdout.trim().endsWith(now.TLSInfo.TrustRoot.trim())).toBe(true);
    for (const h of [...HOSTS, 'w2']) expect(issuedBy(await certificateOf(h), now.TLSInfo.TrustRoot), h).toBe(true);
    expect((await nodeRows('m1')).every((row) => row.status === 'Ready')).toBe(true);
  });
});
