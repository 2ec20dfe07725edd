import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { swarmCli, type NodeRow } from './support/swarm-cli.js';
import { waitFor } from '../lib/poll.js';
import { parseNodeCertificate } from '../ca/node-certificate.js';
import { ApiClient } from '../lib/api-client/client.js';
import { socketOf } from './support/docker.js';

// `node demote` finishes: the demoted manager gets its worker certificate from a manager still in
// Raft, drops its Raft data and shows as a Ready worker. Before, it asked its own manager, which
// had just left Raft and had no leader: it kept its manager certificate and sent pre-votes.
const name = `dm${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { ok, nodeRows, dataDir } = swarmCli(() => lab!);

async function byHost(host: string): Promise<Record<string, NodeRow>> {
  return Object.fromEntries((await nodeRows(host)).map((r) => [r.hostname, r]));
}

async function certificateRole(host: string): Promise<string | undefined> {
  const pem = await readFile(join(dataDir(host), 'certificates', 'node.pem'), 'utf8').catch(() => undefined);
  return pem === undefined ? undefined : parseNodeCertificate(pem).identity.role;
}

describe('node demote finishes', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 0 });
    await ok('m1', 'init');
    const token = (await ok('m1', 'join-token', 'manager', '-q')).trim();
    for (const h of ['m2', 'm3']) await ok(h, 'join', '--token', token, M1);
    await waitFor(
      async () => {
        const rows = await byHost('m1');
        return ['m2', 'm3'].every((h) => rows[h]?.status === 'Ready' && rows[h]?.managerStatus === 'Reachable');
      },
      { what: 'm2 and m3 Ready, reachable managers', timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('a demoted manager ends with a worker certificate, no Raft data, and Ready as a worker', async () => {
    expect(await certificateRole('m3')).toBe('manager');
    const started = Date.now();
    await ok('m1', 'node', 'demote', 'm3');
    await waitFor(
      async () => {
        const row = (await byHost('m1'))['m3'];
        return (
          (await certificateRole('m3')) === 'worker' &&
          !existsSync(join(dataDir('m3'), 'raft')) &&
          row?.role === 'worker' &&
          row.status === 'Ready'
        );
      },
      { what: 'm3 a Ready worker with a worker certificate and no raft/', timeoutMs: 120_000, intervalMs: 500 },
    );
    process.stdout.write(`demotion of m3 finished in ${Date.now() - started} ms\n`);
    const info = JSON.parse(await ok('m3', 'info', '--format', 'json')) as {
      server: { swarm: { localNodeState: string; controlAvailable: boolean } };
    };
    expect(info.server.swarm).toMatchObject({ localNodeState: 'active', controlAvailable: false });
    expect(Object.keys(await byHost('m2'))).toContain('m3');
    // No Raft member runs on m3 any more (it can send no Raft message), and no manager counts it.
    const raftOf = async (host: string) => {
      const client = new ApiClient(`unix://${socketOf(lab!, host)}`);
      try {
        return await client.json<{ Voters: string[]; Learners: string[] }>('GET', '/tswarm/raft');
      } finally {
        client.close();
      }
    };
    await expect(raftOf('m3')).rejects.toMatchObject({ code: 'NOT_A_MANAGER' });
    const m3Id = (await byHost('m1'))['m3']!.id;
    for (const h of ['m1', 'm2']) {
      const r = await raftOf(h);
      expect([...r.Voters, ...(r.Learners ?? [])]).not.toContain(m3Id);
    }
  });
});
