import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { docker } from './support/docker.js';
import { show } from './support/engine.js';
import { swarmCli } from './support/swarm-cli.js';

// `service logs` across nodes (issue 16): every node publishes its tasks' lines to the leader's log
// broker over its own connection; the CLIs merge them under `name.slot.task@node` prefixes. A node
// that is gone is named within the broker's bound instead of hanging the call (moby#38640).
const name = `lg${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const followers: ChildProcess[] = [];

const { tswarm, ok } = swarmCli(() => lab!);
const HOSTS = ['m1', 'w1', 'w2'];
/** `talk.2.k3j9x0a1b2c3@w1    | line 7 from 9f8e7d6c5b4a`, as both CLIs print a line. */
const LINE = /^talk\.(\d)\.([0-9a-z]{12})@(\w+)\s*\| line (\d+) from \S+$/;

interface Line {
  slot: number;
  task: string;
  host: string;
  n: number;
}

function parseLines(stdout: string): Line[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = LINE.exec(l);
      if (!m) throw new Error(`not a prefixed log line: ${JSON.stringify(l)}`);
      return { slot: Number(m[1]), task: m[2]!, host: m[3]!, n: Number(m[4]) };
    });
}

const countBy = <T>(items: readonly T[], key: (t: T) => string) => {
  const counts: Record<string, number> = {};
  for (const i of items) counts[key(i)] = (counts[key(i)] ?? 0) + 1;
  return counts;
};

/** The running task of each slot, as `service ps` shows it: "slot → task ID prefix @ host". */
async function runningTasks(): Promise<string[]> {
  const rows = JSON.parse(await ok('m1', 'service', 'ps', 'talk', '--format', 'json')) as {
    ID: string;
    Slot: number;
    NodeID: string;
    DesiredState: string;
    Status: { State: string };
  }[];
  const hosts = new Map(
    (JSON.parse(await ok('m1', 'node', 'ls', '--format', 'json')) as { id: string; hostname: string }[]).map((n) => [
      n.id,
      n.hostname,
    ]),
  );
  return rows
    .filter((t) => t.DesiredState === 'running' && t.Status.State === 'running')
    .map((t) => `${t.Slot} ${t.ID.slice(0, 12)}@${hosts.get(t.NodeID)}`)
    .sort();
}

describe('service logs across the nodes', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 2, registry: true });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    for (const f of followers) f.kill('SIGKILL');
    await lab?.down();
  });

  it('merges every task’s lines under task and node prefixes; --tail per task; -f streams new lines; docker reads the same', async () => {
    await ok(
      'm1',
      'service',
      'create',
      '--detach',
      '--name',
      'talk',
      '--replicas',
      '3',
      '--replicas-max-per-node',
      '1',
      LAB_TEST_IMAGE,
      'sh',
      '-c',
      'i=0; while true; do i=$((i+1)); echo "line $i from $(hostname)"; sleep 0.5; done',
    );
    await waitFor(async () => (await runningTasks()).length === 3, {
      what: 'the 3 tasks of talk running, one per node',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const tasks = await runningTasks();
    // Every task has written a few lines: the whole log shows each under its own prefix.
    let all: Line[] = [];
    await waitFor(
      async () => {
        all = parseLines(await ok('m1', 'service', 'logs', 'talk'));
        const perTask = countBy(all, (l) => l.task);
        return Object.keys(perTask).length === 3 && Object.values(perTask).every((n) => n >= 3);
      },
      { what: 'three lines or more from each task', timeoutMs: 30_000, intervalMs: 500 },
    );
    const prefixes = [...new Set(all.map((l) => `${l.slot} ${l.task}@${l.host}`))].sort();
    expect(prefixes).toEqual(tasks);
    expect(new Set(all.map((l) => l.host))).toEqual(new Set(HOSTS));
    // Each task's lines in the order written, from its first.
    for (const t of new Set(all.map((l) => l.task))) {
      const ns = all.filter((l) => l.task === t).map((l) => l.n);
      expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i + 1));
    }

    const tail = parseLines(await ok('m1', 'service', 'logs', '--tail', '2', 'talk'));
    expect(Object.values(countBy(tail, (l) => l.task))).toEqual([2, 2, 2]);

    // Following from now (--tail 0): only lines written after the command started, from all three nodes.
    const follower = lab!.spawn(
      'm1',
      ['tswarm', 'service', 'logs', '-f', '--tail', '0', 'talk'],
      ['ignore', 'pipe', 'pipe'],
    );
    followers.push(follower);
    let followed = '';
    let followErr = '';
    follower.stdout!.on('data', (b: Buffer) => (followed += b.toString()));
    follower.stderr!.on('data', (b: Buffer) => (followErr += b.toString()));
    await waitFor(
      () => {
        const lines = parseLines(followed.slice(0, followed.lastIndexOf('\n') + 1));
        const perHost = countBy(lines, (l) => l.host);
        return HOSTS.every((h) => (perHost[h] ?? 0) >= 2);
      },
      { what: `two new lines from each node through service logs -f (stderr: ${followErr})`, timeoutMs: 30_000 },
    );
    follower.kill('SIGTERM');
    const newLines = parseLines(followed.slice(0, followed.lastIndexOf('\n') + 1));
    // Nothing from before the command started: each task's lines go on from where the whole log had got.
    for (const l of newLines)
      expect(l.n).toBeGreaterThan(Math.max(...all.filter((a) => a.task === l.task).map((a) => a.n)));
    expect(followErr).toBe('');

    // The real docker CLI (28.x) resolves the same prefixes from the lines' swarm IDs.
    const d = await docker(lab!, 'm1', ['service', 'logs', '--tail', '2', 'talk']);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    const dockerTail = parseLines(d.stdout);
    expect(Object.values(countBy(dockerTail, (l) => l.task))).toEqual([2, 2, 2]);
    expect([...new Set(dockerTail.map((l) => `${l.slot} ${l.task}@${l.host}`))].sort()).toEqual(tasks);
    // And a task's logs alone, by its ID.
    const oneTask = tasks[0]!.split(' ')[1]!.split('@')[0]!;
    const byTask = await docker(lab!, 'm1', ['service', 'logs', '--tail', '1', oneTask]);
    expect(parseLines(byTask.stdout).map((l) => l.task)).toEqual([oneTask]);
  }, 240_000);

  it('with a node crashed, or cut off, `service logs` returns within its bound and names that node; so does docker’s', async () => {
    await lab!.crash('w2');
    const startedMs = Date.now();
    // Bounded far above the broker's (5 s): a call that hung (moby#38640) would be cut off here, not end by itself.
    const r = await tswarm('m1', 'service', 'logs', '--tail', '1', 'talk');
    const tookMs = Date.now() - startedMs;
    show(`service logs with w2 crashed: exit ${r.code} after ${tookMs} ms; stderr: ${r.stderr.trim()}`);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^warning: node w2 \([0-9a-z]{12}\) .*: its tasks' lines are missing$/m);
    expect(r.stderr).toMatch(/the logs are incomplete/);
    // The others' lines are all there.
    expect(new Set(parseLines(r.stdout).map((l) => l.host))).toEqual(new Set(['m1', 'w1']));

    const d = await docker(lab!, 'm1', ['service', 'logs', '--tail', '1', 'talk']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/Error grabbing logs: incomplete log stream.*node w2 \(/);
    expect(new Set(parseLines(d.stdout).map((l) => l.host))).toEqual(new Set(['m1', 'w1']));

    // Cut off without a word (no connection reset reaches the leader): still named within the bound.
    await lab!.partition(['w1']);
    try {
      const cutStartedMs = Date.now();
      const cut = await tswarm('m1', 'service', 'logs', '--tail', '1', 'talk');
      show(
        `service logs with w1 cut off: exit ${cut.code} after ${Date.now() - cutStartedMs} ms; stderr: ${cut.stderr.trim()}`,
      );
      expect(cut.signal).toBeNull();
      expect(cut.code).toBe(1);
      expect(cut.stderr).toMatch(/^warning: node w1 \([0-9a-z]{12}\) (is down|did not answer within 5 s)/m);
      expect(new Set(parseLines(cut.stdout).map((l) => l.host))).toEqual(new Set(['m1']));
    } finally {
      await lab!.heal();
    }
  }, 120_000);
});
