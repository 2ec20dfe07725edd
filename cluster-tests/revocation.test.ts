import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { apiGet, rawCall as rawCallFrom, sendAs as sendAsFrom, storeDigest as digestOf } from './support/attack.js';
import { swarmCli } from './support/swarm-cli.js';

// Revocation by serial (docs/security.md, "Revoked certificates"): a demoted manager's old
// manager certificate is still valid for its 90 days, so an attacker holding a copy (taken before
// the demotion) tries it on the control API and on the Raft transport of both remaining managers.
// Every call must be refused with the revocation error, and the store must not move; the node's
// current (worker) certificate keeps working.
const name = `rv${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { ok, nodeRows, dataDir, byHost, certificateRole, formManagers } = swarmCli(() => lab!);

interface RaftStatus {
  Term: number;
  Leader: string;
  Commit: number;
  Voters: string[];
  DroppedMessages: { Total: number; ByReason: Record<string, number> };
}

const api = <T>(host: string, path: string) => apiGet<T>(lab!, host, path);
const raft = (host: string) => api<RaftStatus>(host, '/tswarm/raft');
const storeDigest = (host: string) => digestOf(lab!, host);
/** One control or dispatcher call from `from`'s namespace to `addr`, presenting the files in `certs`. */
const rawCall = (from: string, certs: string, method: 'listNodes' | 'heartbeat', addr: string) =>
  rawCallFrom(lab!, from, certs, addr, method);
/** One MsgApp from `from`'s namespace to `to`'s Raft transport, with the files in `certs`. */
const sendAs = (
  from: string,
  certs: string,
  to: { id: string; addr: string },
  at: { term: number; index: number; logTerm: number },
) => sendAsFrom(lab!, from, certs, to, 'app', at);
const addrOf = (host: string) => `${lab!.hosts.find((h) => h.name === host)!.addr}:2377`;

describe('revocation: a demoted manager’s old certificate is refused', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 0 });
    await formManagers('m1', M1, ['m2', 'm3']);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('refuses the old manager certificate on the control API and the Raft transport; the current one heartbeats', async () => {
    const ids = Object.fromEntries((await nodeRows('m1')).map((n) => [n.hostname, n.id]));
    // The attacker's copy of m3's files, taken while m3 was a manager.
    expect(await certificateRole('m3')).toBe('manager');
    const stolen = await mkdtemp(join(labPaths.dir(lab!.name), 'm3-certs-'));
    await cp(join(dataDir('m3'), 'certificates'), stolen, { recursive: true });

    await ok('m1', 'node', 'demote', 'm3');
    await waitFor(
      async () => {
        const row = (await byHost('m1'))['m3'];
        return (
          (await certificateRole('m3')) === 'worker' &&
          !existsSync(join(dataDir('m3'), 'raft')) &&
          row?.role === 'worker' &&
          row.status === 'Ready' &&
          !(await raft('m1')).Voters.includes(ids['m3']!)
        );
      },
      { what: 'm3 a Ready worker with a worker certificate, out of Raft', timeoutMs: 120_000, intervalMs: 500 },
    );
    // m2 applies the revocation (written with the renewal) within a heartbeat or two.
    await waitFor(async () => (await rawCall('m3', stolen, 'listNodes', addrOf('m2'))).code === 'UNAUTHENTICATED', {
      what: 'm2 refusing the old certificate',
      timeoutMs: 15_000,
      intervalMs: 500,
    });

    const digestBefore = await storeDigest('m1');
    const before = { m1: await raft('m1'), m2: await raft('m2') };
    for (const host of ['m1', 'm2'] as const) {
      const listed = await rawCall('m3', stolen, 'listNodes', addrOf(host));
      expect(listed, host).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('revoked') });
      expect(listed.message).toContain(ids['m3']);
      const beat = await rawCall('m3', stolen, 'heartbeat', addrOf(host));
      expect(beat, host).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('revoked') });
      // A leader's append one term ahead, after the target's last committed entry.
      const { Term: term, Commit: commit } = before[host];
      const app = await sendAs(
        'm3',
        stolen,
        { id: ids[host]!, addr: addrOf(host) },
        { term: term + 1, index: commit, logTerm: term },
      );
      expect(app.from).toBe(ids['m3']);
      expect(app, host).toMatchObject({ refused: true, reason: expect.stringContaining('PERMISSION_DENIED') });
      expect(app.reason).toContain('certificate-revoked');
    }

    // A taken MsgApp changes the target's term at once; an election timeout (1-2 s) more covers any later effect.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await storeDigest('m1')).toBe(digestBefore);
    expect(await storeDigest('m2')).toBe(digestBefore);
    for (const host of ['m1', 'm2'] as const) {
      const after = await raft(host);
      expect(after.Term, `${host}'s term`).toBe(before[host].Term);
      const revoked = (s: RaftStatus) => s.DroppedMessages.ByReason['certificate-revoked'] ?? 0;
      expect(revoked(after) - revoked(before[host]), `${host}: dropped at the transport`).toBe(1);
    }

    // The node's current certificate (its worker one) still works.
    expect(await rawCall('m3', join(dataDir('m3'), 'certificates'), 'heartbeat', addrOf('m1'))).toMatchObject({
      code: 'OK',
    });
    expect((await byHost('m2'))['m3']).toMatchObject({ role: 'worker', status: 'Ready' });
  });
});
