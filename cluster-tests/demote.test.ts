import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { swarmCli } from './support/swarm-cli.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';

// `node demote` finishes: the demoted manager gets its worker certificate from a manager still in
// Raft, drops its Raft data and shows as a Ready worker. Before, it asked its own manager, which
// had just left Raft and had no leader: it kept its manager certificate and sent pre-votes.
const name = `dm${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { ok, dataDir, byHost, certificateRole, formManagers } = swarmCli(() => lab!);

describe('node demote finishes', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 0 });
    await formManagers('m1', M1, ['m2', 'm3']);
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
    const raftOf = (host: string) => apiGet<{ Voters: string[]; Learners: string[] }>(lab!, host, '/tswarm/raft');
    await expect(raftOf('m3')).rejects.toMatchObject({ code: 'NOT_A_MANAGER' });
    const m3Id = (await byHost('m1'))['m3']!.id;
    for (const h of ['m1', 'm2']) {
      const r = await raftOf(h);
      expect([...r.Voters, ...(r.Learners ?? [])]).not.toContain(m3Id);
    }
  });
});
