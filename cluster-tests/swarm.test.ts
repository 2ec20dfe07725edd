import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { waitFor } from '../lib/poll.js';

// Bootstrap on real daemons in network namespaces: init, join with tokens over mutual TLS,
// node listing, token rotation, authorization, leader failure and node management.
const name = `sw${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;

interface NodeRow {
  id: string;
  hostname: string;
  status: string;
  availability: string;
  role: string;
  managerStatus: string;
  labels: Record<string, string>;
}

async function tswarm(host: string, ...args: string[]) {
  return lab!.exec(host, ['tswarm', ...args], { timeoutMs: 90_000 });
}

async function nodes(host: string): Promise<NodeRow[]> {
  const r = await tswarm(host, 'node', 'ls', '--format', 'json');
  if (r.code !== 0) throw new Error(`node ls on ${host} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as NodeRow[];
}

function byHost(rows: NodeRow[]): Record<string, NodeRow> {
  return Object.fromEntries(rows.map((r) => [r.hostname, r]));
}

describe('swarm bootstrap', () => {
  let workerToken = '';
  let managerToken = '';

  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 2 });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('init prints a join command ready to paste', async () => {
    const r = await tswarm('m1', 'init');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\./);
    const m = /tswarm join --token (TSWTKN-1-\S+) 192\.168\.77\.11:2377/.exec(r.stdout);
    expect(m).not.toBeNull();
    workerToken = m![1]!;
    const mt = await tswarm('m1', 'join-token', 'manager', '-q');
    expect(mt.code, mt.stderr).toBe(0);
    managerToken = mt.stdout.trim();
    expect(managerToken).not.toBe(workerToken);
  });

  it('refuses a mistyped token locally, before any traffic', async () => {
    const typo = workerToken.slice(0, 20) + (workerToken[20] === 'a' ? 'b' : 'a') + workerToken.slice(21);
    const r = await tswarm('w1', 'join', '--token', typo, '192.168.77.11:2377');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a valid join token');
  });

  it('joins two managers and two workers; node ls shows them Ready with a leader', async () => {
    for (const h of ['m2', 'm3']) {
      const r = await tswarm(h, 'join', '--token', managerToken, '192.168.77.11:2377');
      expect(r.code, `${h}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('joined a swarm as a manager');
    }
    for (const h of ['w1', 'w2']) {
      const r = await tswarm(h, 'join', '--token', workerToken, '192.168.77.11:2377');
      expect(r.code, `${h}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('joined a swarm as a worker');
    }
    await waitFor(
      async () => {
        const rows = byHost(await nodes('m1'));
        return Object.keys(rows).length === 5 && Object.values(rows).every((n) => n.status === 'Ready') && rows['m2']?.managerStatus === 'Reachable' && rows['m3']?.managerStatus === 'Reachable';
      },
      { what: 'five Ready nodes with three managers', timeoutMs: 60_000, intervalMs: 500 },
    );
    const rows = byHost(await nodes('m2'));
    expect(rows['m1']!.managerStatus).toBe('Leader');
    expect(rows['w1']!.role).toBe('worker');
    const table = await tswarm('m1', 'node', 'ls');
    expect(table.stdout).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS/);
    expect(table.stdout).toMatch(/ \* +m1 +Ready +Active +Leader/);
  });

  it('tells a worker’s operator that manager commands need a manager', async () => {
    const r = await tswarm('w1', 'node', 'ls');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('this node is not a manager');
  });

  it('rotating the worker token refuses the old one for new joins and leaves joined nodes alone', async () => {
    const rot = await tswarm('m1', 'join-token', '--rotate', 'worker');
    expect(rot.code, rot.stderr).toBe(0);
    const fresh = /--token (TSWTKN-1-\S+)/.exec(rot.stdout)![1]!;
    expect(fresh).not.toBe(workerToken);
    const leave = await tswarm('w2', 'leave');
    expect(leave.code, leave.stderr).toBe(0);
    const old = await tswarm('w2', 'join', '--token', workerToken, '192.168.77.12:2377');
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('not valid for this cluster');
    const ok = await tswarm('w2', 'join', '--token', fresh, '192.168.77.12:2377');
    expect(ok.code, ok.stderr).toBe(0);
    expect(byHost(await nodes('m1'))['w1']!.status).toBe('Ready');
  });

  it('updates availability and labels', async () => {
    const r = await tswarm('m2', 'node', 'update', '--availability', 'drain', '--label-add', 'zone=a', 'w1');
    expect(r.code, r.stderr).toBe(0);
    const w1 = byHost(await nodes('m3'))['w1']!;
    expect(w1.availability).toBe('Drain');
    expect(w1.labels).toEqual({ zone: 'a' });
  });

  it('survives the leader’s death: a new leader is elected, and the old one rejoins on restart', async () => {
    await lab!.kill('m1');
    await waitFor(
      async () => {
        const rows = byHost(await nodes('m2'));
        return (rows['m2']!.managerStatus === 'Leader' || rows['m3']!.managerStatus === 'Leader') && rows['m1']!.managerStatus === 'Unreachable';
      },
      { what: 'a new leader among m2 and m3', timeoutMs: 60_000, intervalMs: 500 },
    );
    await lab!.start('m1');
    await waitFor(
      async () => {
        const rows = byHost(await nodes('m1'));
        return rows['m1']!.status === 'Ready' && rows['m1']!.managerStatus === 'Reachable';
      },
      { what: 'm1 back as a reachable manager', timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it('refuses to let a manager leave when that would hurt the cluster, unless forced', async () => {
    const r = await tswarm('m3', 'leave');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Demote it first');
  });
});
