import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { swarmCli } from './support/swarm-cli.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { readRaftView } from './support/raft-view.js';

// `leave` takes the node out of Raft and deletes its Raft data, keys and certificates; `init` and
// `join` start from an empty Raft directory. Before, a node that had made its own cluster B, left
// it and joined cluster A as a manager was promoted with B's log, vote and configuration; and a
// former manager's `leave --force` then `init` waited 30 s for a leadership it could never win.
const name = `lv${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

const { ok, info, nodeRows, dataDir } = swarmCli(() => lab!);

/** The nodes a manager lists, as "id hostname role", sorted: what two managers must agree on. */
async function nodeList(host: string): Promise<string[]> {
  return (await nodeRows(host)).map((r) => `${r.id} ${r.hostname} ${r.role}`).sort();
}

/** What is left of a swarm identity in a host's data dir after it left: nothing, else the names found. */
async function swarmLeftovers(host: string): Promise<string[]> {
  const left: string[] = [];
  if (existsSync(join(dataDir(host), 'raft'))) left.push('raft/');
  const certs = await readdir(join(dataDir(host), 'certificates')).catch(() => []);
  return [...left, ...certs.map((f) => `certificates/${f}`)];
}

/** m1 leads cluster A and m2 is a voter in it, whatever an earlier test left. */
async function ensureTwoManagersInA(): Promise<void> {
  if ((await info('m1')).localNodeState === 'inactive') await ok('m1', 'init');
  const a = (await info('m1')).clusterId;
  const m2 = await info('m2');
  if (m2.localNodeState !== 'inactive' && m2.clusterId !== a) await ok('m2', 'leave', '--force');
  if ((await info('m2')).localNodeState === 'inactive') {
    await ok('m2', 'join', '--token', (await ok('m1', 'join-token', 'manager', '-q')).trim(), M1);
  }
  await waitFor(async () => (await info('m1')).managers === 2 && (await info('m2')).managers === 2, {
    what: 'm2 to be a voter of cluster A',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}

describe('leave: back to a clean non-swarm state; init and join start from empty Raft data', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 2, workers: 0 });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('a node that made cluster B, left it with --force and joined cluster A as a manager holds only A’s Raft state', async () => {
    await ok('m1', 'init');
    const a = await info('m1');
    expect(a.managers).toBe(1);
    // Cluster B, with a longer history than A's, so a reused log would show.
    await ok('m2', 'init');
    const b = await info('m2');
    for (let i = 0; i < 5; i++) await ok('m2', 'node', 'update', '--label-add', `b=${i}`, 'm2');
    await ok('m2', 'leave', '--force');
    expect(await swarmLeftovers('m2')).toEqual([]);
    expect((await info('m2')).localNodeState).toBe('inactive');

    await ok('m2', 'join', '--token', (await ok('m1', 'join-token', 'manager', '-q')).trim(), M1);
    const joined = await info('m2');
    expect(joined.clusterId).toBe(a.clusterId);
    expect(joined.nodeId).not.toBe(b.nodeId);
    await waitFor(async () => (await info('m1')).managers === 2 && (await info('m2')).managers === 2, {
      what: 'm2 promoted to voter, as both managers see it',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    // The same store on both: A's two nodes, nothing of B.
    const expected = [`${a.nodeId} m1 manager`, `${joined.nodeId} m2 manager`].sort();
    await waitFor(async () => JSON.stringify(await nodeList('m2')) === JSON.stringify(expected), {
      what: 'm2 to list exactly the nodes of cluster A',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    expect(await nodeList('m1')).toEqual(expected);

    // The Raft logs themselves, read offline: the member's is the leader's, and A's
    // configuration changed by that member alone.
    await lab!.stop('m2');
    await lab!.stop('m1');
    const scratch = labPaths.dir(lab!.name);
    const leader = await readRaftView(join(dataDir('m1'), 'raft'), scratch);
    const member = await readRaftView(join(dataDir('m2'), 'raft'), scratch);
    expect(leader.voters).toEqual([a.nodeId, joined.nodeId].sort());
    expect(leader.learners).toEqual([]);
    expect({ voters: member.voters, learners: member.learners, term: member.term }).toEqual({
      voters: leader.voters,
      learners: leader.learners,
      term: leader.term,
    });
    expect(member.commit).toBeLessThanOrEqual(leader.commit);
    const shared = [...member.entries.keys()].filter((i) => leader.entries.has(i));
    expect(shared.length).toBeGreaterThan(0);
    for (const i of shared) expect(member.entries.get(i), `entry ${i}`).toBe(leader.entries.get(i));

    // Both start again on their Raft data: it is theirs, so the identity check lets them in.
    await lab!.start('m1');
    await lab!.start('m2');
    await waitFor(async () => JSON.stringify(await nodeList('m2')) === JSON.stringify(expected), {
      what: 'm2 back in cluster A after a restart',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });

  it('leave --force on a former manager takes it out of Raft through the leader; init then works', async () => {
    await ensureTwoManagersInA();
    const a = await info('m1');
    await ok('m2', 'leave', '--force');
    // LeaveRaft answered once the leader applied the removal: A's configuration is m1 alone.
    expect((await info('m1')).managers).toBe(1);
    expect(await swarmLeftovers('m2')).toEqual([]);
    const init = await ok('m2', 'init');
    expect(init).toContain('Swarm initialized');
    const b = await info('m2');
    expect(b.clusterId).not.toBe(a.clusterId);
    expect(await nodeList('m2')).toEqual([`${b.nodeId} m2 manager`]);

    // The last manager of A: nobody to leave Raft through; it still leaves clean and can init.
    await ok('m1', 'leave', '--force');
    expect(await swarmLeftovers('m1')).toEqual([]);
    await ok('m1', 'init');
    const c = await info('m1');
    expect(c.clusterId).not.toBe(a.clusterId);
    expect(await nodeList('m1')).toEqual([`${c.nodeId} m1 manager`]);
  });
});
