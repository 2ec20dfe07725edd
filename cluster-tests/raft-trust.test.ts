import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { waitFor } from '../lib/poll.js';
import { swarmCli } from './support/swarm-cli.js';
import { apiGet, sendAs as sendAsFrom, storeDigest as digestOf } from './support/attack.js';

// The Raft transport against an attacker holding a removed manager's files (docs/security.md,
// Raft transport): with that node's still-valid certificate and key, and the real transport
// client, it dials the remaining managers and sends a MsgProp carrying a store transaction that
// would make it a manager again, and a MsgApp at a higher term that would make a follower adopt
// it as leader. Both must be refused and counted, and neither the store nor the term may move.
const name = `rt${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const { formManagers } = swarmCli(() => lab!);
const M1 = '192.168.77.11:2377';

interface NodeRow {
  id: string;
  hostname: string;
  status: string;
  role: string;
  managerStatus: string;
}

interface RaftStatus {
  NodeID: string;
  Term: number;
  Leader: string;
  Commit: number;
  Voters: string[];
  DroppedMessages: { Total: number; ByReason: Record<string, number> };
}

const tswarm = (host: string, ...args: string[]) => lab!.exec(host, ['tswarm', ...args], { timeoutMs: 90_000 });

async function tswarmOk(host: string, ...args: string[]): Promise<string> {
  const r = await tswarm(host, ...args);
  if (r.code !== 0) throw new Error(`tswarm ${args.join(' ')} on ${host} failed: ${r.stderr}`);
  return r.stdout;
}

async function nodes(host: string): Promise<NodeRow[]> {
  return JSON.parse(await tswarmOk(host, 'node', 'ls', '--format', 'json')) as NodeRow[];
}

const api = <T>(host: string, path: string) => apiGet<T>(lab!, host, path);
const raft = (host: string) => api<RaftStatus>(host, '/tswarm/raft');
const storeDigest = (host: string) => digestOf(lab!, host);
const sendAs = (...a: Parameters<typeof sendAsFrom> extends [unknown, ...infer R] ? R : never) =>
  sendAsFrom(lab!, ...a);

const addrOf = (host: string) => `${lab!.hosts.find((h) => h.name === host)!.addr}:2377`;

describe('raft transport: a removed manager’s certificate is refused', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 0 });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('refuses and counts a MsgProp and a higher-term MsgApp sent with a removed manager’s files; the store, term and leader stay as they were', async () => {
    // All three Ready and reachable: demoting m3 below checks the quorum left without it.
    await formManagers('m1', M1, ['m2', 'm3']);
    await waitFor(async () => (await raft('m1')).Voters.length === 3, {
      what: 'three voters on m1',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const ids = Object.fromEntries((await nodes('m1')).map((n) => [n.hostname, n.id]));

    // The attacker's copy of m3's files, taken while m3 was a manager: its certificate says so
    // for up to 90 days.
    const stolen = await mkdtemp(join(labPaths.dir(lab!.name), 'm3-certs-'));
    await cp(join(labPaths.dataDir(lab!.name, 'm3'), 'certificates'), stolen, { recursive: true });

    await tswarmOk('m1', 'node', 'demote', 'm3');
    await waitFor(
      async () => !(await raft('m1')).Voters.includes(ids['m3']!) && (await byHostname('m1'))['m3']?.role === 'worker',
      { what: 'm3 out of Raft and a worker', timeoutMs: 60_000, intervalMs: 500 },
    );
    await lab!.stop('m3');
    // Down first: the liveness write racing `node rm` would make it fail as a conflict.
    await waitFor(async () => (await byHostname('m1'))['m3']?.status === 'Down', {
      what: 'm3 down',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await tswarmOk('m1', 'node', 'rm', '--force', 'm3');
    await waitFor(async () => (await nodes('m1')).length === 2, { what: 'm3 removed', timeoutMs: 30_000 });
    // Settled: both managers follow the same leader in the same term.
    await waitFor(
      async () => {
        const [a, b] = [await raft('m1'), await raft('m2')];
        return a.Leader !== '' && a.Leader === b.Leader && a.Term === b.Term;
      },
      { what: 'm1 and m2 agreeing on a leader', timeoutMs: 30_000, intervalMs: 500 },
    );

    const digestBefore = await storeDigest('m1');
    const before = { m1: await raft('m1'), m2: await raft('m2') };
    const { Term: term, Leader: leader } = before.m1;
    const hostOf = (id: string) => (id === ids['m1'] ? 'm1' : 'm2');
    const targets = [hostOf(leader), hostOf(leader) === 'm1' ? 'm2' : 'm1'] as const;

    for (const host of targets) {
      const to = { id: ids[host]!, addr: addrOf(host) };
      // A proposal: the store transaction that makes m3 a manager again.
      const prop = await sendAs('m3', stolen, to, 'prop', { term: 0, index: 0, logTerm: 0 });
      // An append one term ahead, after the target's last committed entry, committing the same.
      const at = { term: term + 1, index: before[host].Commit, logTerm: term };
      const app = await sendAs('m3', stolen, to, 'app', at);
      for (const r of [prop, app]) {
        expect(r.from).toBe(ids['m3']);
        expect(r, `${host}`).toMatchObject({ refused: true, reason: expect.stringContaining('PERMISSION_DENIED') });
        expect(r.reason).toContain('not-a-member');
      }
    }

    // Each message was refused by the transport before it reached Raft (the answers say so, and
    // the drop counters below count them), so nothing can take effect later. The reads below are
    // served after a ReadIndex round (manager/read-barrier.ts): each confirms with a quorum that
    // the leader still leads in this term, after the attack, so no fixed wait is needed.
    expect(await storeDigest('m1')).toBe(digestBefore);
    expect(await storeDigest('m2')).toBe(digestBefore);
    for (const host of ['m1', 'm2'] as const) {
      const after = await raft(host);
      expect(after.Term, `${host}'s term`).toBe(term);
      expect(after.Leader, `${host}'s leader`).toBe(leader);
      const refused = (s: RaftStatus) => s.DroppedMessages.ByReason['not-a-member'] ?? 0;
      expect(refused(after) - refused(before[host]), `${host}: dropped at the transport`).toBe(2);
    }
    expect((await nodes('m1')).map((n) => n.hostname).sort()).toEqual(['m1', 'm2']);
  });
});

// A manager that was down while a new one joined and came to lead holds a configuration that
// does not name its leader, so its transport refuses that leader's messages; it must find out who
// leads by asking the managers it knows (manager/membership/who-leads.ts), and catch up.
describe('raft transport: a manager that fell behind the membership catches up with a leader it did not know', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name: `${name}b`, managers: 5, workers: 0 });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('m3, down while m4 and m5 joined, comes back under m4 or m5 as leader and follows it', async () => {
    await tswarmOk('m1', 'init');
    const managerToken = (await tswarmOk('m1', 'join-token', 'manager', '-q')).trim();
    const join = async (h: string, voters: number) => {
      await tswarmOk(h, 'join', '--token', managerToken, M1);
      await waitFor(async () => (await raft('m1')).Voters.length === voters, {
        what: `${voters} voters on m1`,
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    };
    await join('m2', 2);
    await join('m3', 3);
    await lab!.stop('m3');
    await join('m4', 4);
    await join('m5', 5);
    const ids = Object.fromEntries((await nodes('m1')).map((n) => [n.hostname, n.id]));
    const hostOf = (id: string) => Object.keys(ids).find((h) => ids[h] === id)!;

    // Move leadership to m4 or m5 by killing older leaders (restarted at once, so 4 of 5 stay up).
    const alive = ['m1', 'm2', 'm4', 'm5'];
    let leader = hostOf((await raft('m1')).Leader);
    for (let round = 0; round < 8 && !['m4', 'm5'].includes(leader); round++) {
      await lab!.kill(leader);
      const others = alive.filter((h) => h !== leader);
      const before = leader;
      await waitFor(
        async () => {
          const seen = await Promise.all(others.map((h) => raft(h)));
          const l = seen[0]!.Leader;
          return l !== '' && l !== ids[before] && seen.every((s) => s.Leader === l) ? (leader = hostOf(l)) : false;
        },
        { what: `a new leader after killing ${before}`, timeoutMs: 60_000, intervalMs: 500 },
      );
      await lab!.start(before);
    }
    expect(['m4', 'm5']).toContain(leader);

    await lab!.start('m3');
    await waitFor(
      async () => {
        const s = await raft('m3');
        return s.Leader === ids[leader] && s.Voters.length === 5;
      },
      { what: `m3 following ${leader} with all five voters`, timeoutMs: 60_000, intervalMs: 500 },
    );
    // It did refuse the leader it did not know, and it found out by asking.
    expect((await raft('m3')).DroppedMessages.ByReason['not-a-member']).toBeGreaterThan(0);
    const log = await readFile(labPaths.daemonLog(lab!.name, 'm3'), 'utf8');
    expect(log).toContain('asked the managers who leads');
  });
});

async function byHostname(host: string): Promise<Record<string, NodeRow>> {
  return Object.fromEntries((await nodes(host)).map((n) => [n.hostname, n]));
}
