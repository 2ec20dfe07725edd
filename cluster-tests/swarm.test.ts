import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { builtEntry } from '../lib/paths.js';
import { createJoinToken } from '../ca/join-token.js';
import { WORKER_NOT_MANAGER } from '../daemon/api/swarm-access.js';

// Swarm membership on real daemons in network namespaces: init, joins over mutual TLS, refusals at
// the CLI and at the network layer, leader failure, lost quorum and its recovery, promote/demote.
// The tests share one lab, but none relies on what an earlier one did: each brings the swarm to
// the state it needs (ensureSwarm) and reads join tokens afresh, so one failure does not cascade.
const name = `sw${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const M1 = '192.168.77.11:2377';

interface NodeRow {
  id: string;
  hostname: string;
  status: string;
  availability: string;
  role: string;
  managerStatus: string;
  labels: Record<string, string>;
}

const tswarm = (host: string, ...args: string[]) => lab!.exec(host, ['tswarm', ...args], { timeoutMs: 90_000 });

async function nodes(host: string): Promise<NodeRow[]> {
  const r = await tswarm(host, 'node', 'ls', '--format', 'json');
  if (r.code !== 0) throw new Error(`node ls on ${host} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as NodeRow[];
}

async function byHost(host: string): Promise<Record<string, NodeRow>> {
  return Object.fromEntries((await nodes(host)).map((r) => [r.hostname, r]));
}

const certDir = (host: string) => join(labPaths.dataDir(lab!.name, host), 'certificates');

/** One raw gRPC call from `from`'s namespace, with `certs` (a directory, or 'none'). */
async function rawCall(
  from: string,
  certs: string,
  method: 'listNodes' | 'heartbeat' | 'getRootCa',
  addr = M1,
): Promise<{ code: string; message: string }> {
  const entry = builtEntry('cli').replace(/cli[/\\]main\.js$/, 'lib/testing/raw-call.js');
  const r = await lab!.exec(from, [process.execPath, entry, certs, addr, method], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`raw call failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { code: string; message: string };
}

/** Whether the host's daemon is part of a swarm, as its own `tswarm info` says. */
async function inSwarm(host: string): Promise<boolean> {
  const r = await tswarm(host, 'info', '--format', 'json');
  if (r.code !== 0) throw new Error(`info on ${host} failed: ${r.stderr}`);
  const info = JSON.parse(r.stdout) as { server?: { swarm?: { localNodeState?: string } } };
  return info.server?.swarm?.localNodeState !== 'inactive';
}

/** The current join token for a role, read from m1 now rather than remembered from another test. */
async function joinToken(role: 'worker' | 'manager'): Promise<string> {
  const r = await tswarm('m1', 'join-token', role, '-q');
  if (r.code !== 0) throw new Error(`join-token ${role} on m1 failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Brings the swarm to what a test needs, whatever earlier tests left: the daemons running, m1
 * initialized (with the election ticks the first test uses), the given hosts joined through m1 in
 * the given roles, and all of them Ready on m1. Hosts already in the swarm are left as they are.
 */
async function ensureSwarm(want: { managers?: string[]; workers?: string[] } = {}): Promise<void> {
  const managers = want.managers ?? [];
  const workers = want.workers ?? [];
  const hosts = ['m1', ...managers, ...workers];
  const status = await lab!.status();
  for (const h of hosts) {
    const state = status.find((s) => s.name === h)?.state;
    if (state === 'stopped' || state === 'dead') await lab!.start(h);
  }
  if (!(await inSwarm('m1'))) {
    const r = await tswarm('m1', 'init', '--election-ticks', '12');
    if (r.code !== 0) throw new Error(`init on m1 failed: ${r.stderr}`);
  }
  for (const [role, list] of [
    ['manager', managers],
    ['worker', workers],
  ] as const) {
    for (const h of list) {
      if (await inSwarm(h)) continue;
      const r = await tswarm(h, 'join', '--token', await joinToken(role), M1);
      if (r.code !== 0) throw new Error(`${h} could not join as a ${role}: ${r.stderr}`);
    }
  }
  await waitFor(
    async () => {
      const rows = await byHost('m1');
      return hosts.every((h) => rows[h]?.status === 'Ready');
    },
    { what: `${hosts.join(', ')} Ready on m1`, timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** Takes a host out of any swarm it is in, so it can be refused or join afresh. */
async function ensureOutOfSwarm(host: string): Promise<void> {
  if (!(await inSwarm(host))) return;
  const r = await tswarm(host, 'leave', '--force');
  if (r.code !== 0) throw new Error(`leave on ${host} failed: ${r.stderr}`);
}

describe('swarm: init, joins and refusals, leader loss, quorum recovery, promote and demote', () => {
  beforeAll(async () => {
    // Every daemon reports an engine label (tswarmd --label): node inspect shows it below.
    lab = await Lab.up({ name, managers: 3, workers: 3, daemonArgs: ['--label', 'lab=swarm-test'] });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('init prints a join command ready to paste (and refuses Raft timings it cannot live with)', async () => {
    const bad = await tswarm('m1', 'init', '--raft-tick', '5ms');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('the Raft tick must be between 10ms and 10s, got 5ms');
    // Non-default, so the joins below show that the cluster's timings reach every manager.
    const r = await tswarm('m1', 'init', '--election-ticks', '12');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\./);
    const workerToken = /tswarm join --token (TSWTKN-1-\S+) 192\.168\.77\.11:2377/.exec(r.stdout)![1]!;
    const managerToken = (await tswarm('m1', 'join-token', 'manager', '-q')).stdout.trim();
    expect(managerToken).toMatch(/^TSWTKN-1-/);
    expect(managerToken).not.toBe(workerToken);
  });

  it('refuses truncated, mistyped and foreign tokens, and changes nothing', async () => {
    await ensureSwarm();
    await ensureOutOfSwarm('w1');
    const workerToken = await joinToken('worker');
    const before = (await nodes('m1')).map((n) => n.hostname);
    const typo = workerToken.slice(0, 20) + (workerToken[20] === 'a' ? 'b' : 'a') + workerToken.slice(21);
    for (const bad of [workerToken.slice(0, -3), typo]) {
      const r = await tswarm('w1', 'join', '--token', bad, M1);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not a valid join token');
    }
    const foreign = createJoinToken(Buffer.alloc(32, 9)).text;
    const f = await tswarm('w1', 'join', '--token', foreign, M1);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('has a CA that does not match this token');
    expect((await nodes('m1')).map((n) => n.hostname)).toEqual(before);
    expect((await tswarm('w1', 'info', '--format', 'json')).stdout).toContain('"localNodeState": "inactive"');
  });

  it('joins 2 managers and 3 workers: every manager lists 6 Ready nodes and one leader', async () => {
    await ensureSwarm();
    const managerToken = await joinToken('manager');
    const workerToken = await joinToken('worker');
    for (const h of ['m2', 'm3']) {
      const r = await tswarm(h, 'join', '--token', managerToken, M1);
      expect(r.code, `${h}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('joined a swarm as a manager');
    }
    await Promise.all(
      ['w1', 'w2', 'w3'].map(async (h) => {
        const r = await tswarm(h, 'join', '--token', workerToken, M1);
        expect(r.code, `${h}: ${r.stderr}`).toBe(0);
      }),
    );
    for (const m of ['m1', 'm2', 'm3']) {
      await waitFor(
        async () => {
          const rows = await nodes(m);
          return (
            rows.length === 6 &&
            rows.every((n) => n.status === 'Ready') &&
            rows.filter((n) => n.managerStatus === 'Leader').length === 1 &&
            rows.filter((n) => n.managerStatus === 'Reachable').length === 2
          );
        },
        { what: `node ls on ${m}: 6 Ready nodes, one Leader, two Reachable`, timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    // Read on m2, a follower: served there after a ReadIndex, with the engine labels w1 reported.
    await waitFor(
      async () => {
        const r = await tswarm('m2', 'node', 'inspect', 'w1');
        const [w1] = JSON.parse(r.stdout) as { Description: { Engine: { Labels: Record<string, string> } } }[];
        return JSON.stringify(w1!.Description.Engine.Labels) === JSON.stringify({ lab: 'swarm-test' });
      },
      { what: 'node inspect w1 to show its engine label', timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const h of ['m1', 'm2', 'w1']) {
      const nodeFile = JSON.parse(
        await readFile(join(lab!.hosts.find((x) => x.name === h)!.dataDir, 'node.json'), 'utf8'),
      ) as { raft?: { electionTicks: number; tickMs: number } };
      expect(nodeFile.raft, h).toEqual({ tickMs: 100, electionTicks: 12, heartbeatTicks: 1 });
    }
    // A worker knows its cluster's ID too (Docker shows it on managers only); a manager its address.
    const info = async (h: string) =>
      (
        JSON.parse((await tswarm(h, 'info', '--format', 'json')).stdout) as {
          server: { swarm: { clusterId: string; nodeAddr: string; controlAvailable: boolean } };
        }
      ).server.swarm;
    const [m1Info, w1Info] = [await info('m1'), await info('w1')];
    expect(m1Info).toMatchObject({ nodeAddr: M1, controlAvailable: true });
    expect(w1Info.clusterId).toMatch(/^[0-9a-z]{25}$/);
    expect(w1Info).toMatchObject({ clusterId: m1Info.clusterId, controlAvailable: false });
    const table = await tswarm('m1', 'node', 'ls');
    expect(table.stdout).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS/);
    expect(table.stdout).toMatch(/ \* +m1 +Ready +Active +Leader/);
  });

  it('refuses at the network layer: a worker certificate on a manager-only method, and no certificate on anything but joining', async () => {
    await ensureSwarm({ workers: ['w1'] });
    expect(await rawCall('w1', certDir('w1'), 'listNodes')).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await rawCall('w1', certDir('w1'), 'heartbeat')).code).toBe('OK');
    expect(await rawCall('w1', 'none', 'listNodes')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await rawCall('w1', 'none', 'heartbeat')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await rawCall('w1', 'none', 'getRootCa')).code).toBe('OK');
    const local = await tswarm('w1', 'node', 'ls');
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(WORKER_NOT_MANAGER);
  });

  it('rotating the worker token refuses the old one for new joins and leaves joined nodes alone', async () => {
    await ensureSwarm({ managers: ['m2'], workers: ['w1', 'w3'] });
    const workerToken = await joinToken('worker');
    const rot = await tswarm('m1', 'join-token', '--rotate', 'worker');
    expect(rot.code, rot.stderr).toBe(0);
    const fresh = /--token (TSWTKN-1-\S+)/.exec(rot.stdout)![1]!;
    expect(fresh).not.toBe(workerToken);
    expect((await tswarm('w3', 'leave')).code).toBe(0);
    const old = await tswarm('w3', 'join', '--token', workerToken, M1);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('not valid for this cluster');
    const ok = await tswarm('w3', 'join', '--token', fresh, '192.168.77.12:2377');
    expect(ok.code, ok.stderr).toBe(0);
    expect((await byHost('m1'))['w1']!.status).toBe('Ready');
  });

  it('refuses a removed node that reconnects, though its certificate is still valid', async () => {
    await ensureSwarm({ workers: ['w2'] });
    const kept = await mkdtemp(join(labPaths.dir(lab!.name), 'w2-certs-'));
    await cp(certDir('w2'), kept, { recursive: true });
    const rm = await tswarm('m1', 'node', 'rm', '--force', 'w2');
    expect(rm.code, rm.stderr).toBe(0);
    expect(await rawCall('w2', kept, 'heartbeat')).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringContaining('not a member'),
    });
  });

  it('updates availability and labels', async () => {
    await ensureSwarm({ managers: ['m2', 'm3'], workers: ['w1'] });
    expect((await tswarm('m2', 'node', 'update', '--availability', 'drain', '--label-add', 'zone=a', 'w1')).code).toBe(
      0,
    );
    const w1 = (await byHost('m3'))['w1']!;
    expect(w1.availability).toBe('Drain');
    expect(w1.labels).toEqual({ zone: 'a' });
  });

  it('kill -9 of the leader: a new leader, node ls works from the survivors, the old leader follows on restart', async () => {
    await ensureSwarm({ managers: ['m2', 'm3'] });
    await lab!.kill('m1');
    await waitFor(
      async () => {
        const rows = await byHost('m2');
        return (
          ['m2', 'm3'].some((m) => rows[m]!.managerStatus === 'Leader') && rows['m1']!.managerStatus === 'Unreachable'
        );
      },
      { what: 'a new leader among m2 and m3', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await nodes('m3')).length).toBeGreaterThanOrEqual(5);
    await lab!.start('m1');
    await waitFor(async () => (await byHost('m1'))['m1']!.managerStatus === 'Reachable', {
      what: 'm1 back as a follower',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });

  it('refuses to let a manager leave when that would hurt the cluster, unless forced', async () => {
    await ensureSwarm({ managers: ['m2', 'm3'] });
    const r = await tswarm('m3', 'leave');
    expect(r.code).toBe(1);
    // dockerd's words (daemon/api/swarm.ts, checkLeave).
    expect(r.stderr).toContain('You are attempting to leave the swarm on a node that is participating as a manager.');
    expect(r.stderr).toContain('Use `--force` to suppress this message.');
  });

  it('losing 2 of 3 managers: writes fail with a clear error in bounded time; --force-new-cluster brings the cluster back', async () => {
    await ensureSwarm({ managers: ['m2', 'm3'], workers: ['w1'] });
    const label = await tswarm('m1', 'node', 'update', '--label-add', 'zone=a', 'w1');
    expect(label.code, label.stderr).toBe(0);
    await lab!.kill('m2');
    await lab!.kill('m3');
    // The write's deadline is the bound: a command still waiting after 60 s is killed, and fails.
    const w = await lab!.exec('m1', ['tswarm', 'node', 'update', '--label-add', 'try=1', 'w1'], {
      timeoutMs: 60_000,
    });
    expect(w.signal, 'the write must fail within 60 s, not hang').toBeNull();
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/no leader|quorum|outcome is unknown/);
    const f = await tswarm('m1', 'init', '--force-new-cluster');
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toContain('Swarm recovered');
    await waitFor(
      async () => {
        const rows = await byHost('m1');
        return (
          rows['m1']!.managerStatus === 'Leader' && rows['w1']!.status === 'Ready' && rows['w1']!.labels['zone'] === 'a'
        );
      },
      { what: 'the recovered cluster, with w1 reconnected and its labels kept', timeoutMs: 60_000, intervalMs: 500 },
    );
    const d = await tswarm('m1', 'node', 'demote', 'm2', 'm3');
    expect(d.code, d.stderr).toBe(0);
  });

  it('promotes a worker to manager, and a demoted manager’s certificate is refused on manager-only methods at once', async () => {
    await ensureSwarm({ workers: ['w1'] });
    expect((await tswarm('m1', 'node', 'promote', 'w1')).code).toBe(0);
    await waitFor(async () => (await byHost('m1'))['w1']!.managerStatus === 'Reachable', {
      what: 'w1 to become a reachable manager',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    expect((await tswarm('w1', 'node', 'ls')).code).toBe(0);
    const kept = await mkdtemp(join(labPaths.dir(lab!.name), 'w1-manager-certs-'));
    await cp(certDir('w1'), kept, { recursive: true });
    expect((await rawCall('w1', kept, 'listNodes')).code).toBe('OK');
    expect((await tswarm('m1', 'node', 'demote', 'w1')).code).toBe(0);
    // Refused at once as no longer a manager (PERMISSION_DENIED); once w1 has renewed into its
    // worker certificate, which can be as quick, its old one is revoked (UNAUTHENTICATED).
    const refused = await rawCall('w1', kept, 'listNodes');
    expect(['PERMISSION_DENIED', 'UNAUTHENTICATED'], refused.message).toContain(refused.code);
  });
});
