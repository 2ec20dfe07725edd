import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { formatManagersFile, MANAGERS_FILE, parseManagersFile } from '../worker/managers-file.js';
import { apiGet } from './support/attack.js';
import { docker } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';

// A worker outlives the manager it talks to (issue 15). The leader marks a node DOWN after 3 missed
// heartbeat periods (3 s); a worker whose manager hangs or dies moves its heartbeats and its task
// session to another known manager well within that, so it never leaves Ready and its task keeps
// running in the same container. And it keeps the managers it knows (managers.json): restarted
// while the manager it joined through is down, it comes back through the others.
const name = `wf${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;

const { ok, info, byHost, formManagers, dataDir } = swarmCli(() => lab!);

const poll = { timeoutMs: 60_000, intervalMs: 250 };

interface NodeShape {
  ID: string;
  Version: { Index: number };
  Status: { State: string; Message?: string };
}

interface TaskShape {
  ID: string;
  ServiceID: string;
  NodeID: string;
  DesiredState: string;
  Status: { State: string };
}

const addrOf = (host: string) => `${lab!.hosts.find((h) => h.name === host)!.addr}:2377`;
const hostAt = (addr: string | undefined) => lab!.hosts.find((h) => `${h.addr}:2377` === addr)?.name;

/** The managers w1's heartbeats and session go to now, as `tswarm info` shows them (host names). */
async function w1Managers(): Promise<{ heartbeat: string | undefined; session: string | undefined }> {
  const s = (await info('w1')) as unknown as {
    heartbeatManager: { addr: string } | null;
    sessionManager: { addr: string } | null;
  };
  return { heartbeat: hostAt(s.heartbeatManager?.addr), session: hostAt(s.sessionManager?.addr) };
}

async function taskContainers(host: string): Promise<string[]> {
  const r = await docker(lab!, host, ['ps', '-q', '--no-trunc', '--filter', 'label=com.docker.swarm.task.id']);
  if (r.code !== 0) throw new Error(`docker ps on ${host}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/**
 * Watches a node's state on a manager every 250 ms until stopped: every state seen, and the node
 * object's version (any state change — even a DOWN the samples fell between — writes the node).
 * A read a manager cannot serve (an election under way) is skipped. Returns once the first
 * sample is in, so that sample is from before whatever the caller does next.
 */
async function watchNode(host: string, nodeId: string) {
  const states: string[] = [];
  const versions = new Set<number>();
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const n = await apiGet<NodeShape>(lab!, host, `/nodes/${nodeId}`).catch(() => undefined);
      if (n) {
        states.push(n.Status.State + (n.Status.Message ? ` (${n.Status.Message})` : ''));
        versions.add(n.Version.Index);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await waitFor(() => states.length > 0, { what: `a first sample of node ${nodeId} on ${host}`, ...poll });
  return {
    samples: () => states.length,
    async stop() {
      stopped = true;
      await done;
      return { states: [...new Set(states)], versions: [...versions] };
    },
  };
}

/**
 * Waits until w1's heartbeats and session both left `from` for one manager, then keeps watching
 * while at least 8 more samples (2 s) come in past the 3 s DOWN deadline counted from the failure.
 */
async function movedAndStillReady(watch: Awaited<ReturnType<typeof watchNode>>, from: string, failedAtMs: number) {
  const moved = await waitFor(
    async () => {
      const m = await w1Managers();
      return m.heartbeat && m.heartbeat !== from && m.session === m.heartbeat ? m : undefined;
    },
    { what: `w1's heartbeats and session moved off ${from}`, ...poll },
  );
  const before = watch.samples();
  await waitFor(() => Date.now() - failedAtMs > 5_000 && watch.samples() >= before + 8, {
    what: 'node samples past the DOWN deadline',
    ...poll,
  });
  return moved.heartbeat!;
}

/**
 * Each test starts from three running, reachable managers, whatever an earlier one left behind
 * (a test that failed midway may have left a manager stopped or cut off).
 */
async function allManagersUp(): Promise<void> {
  await lab!.heal();
  for (const h of await lab!.status())
    if (h.role === 'manager' && h.state !== 'running' && h.pid === 0) await lab!.start(h.name);
  await waitFor(
    async () => {
      const rows = await byHost('m1').catch(() => undefined);
      return ['m1', 'm2', 'm3'].every((h) => ['Reachable', 'Leader'].includes(rows?.[h]?.managerStatus ?? ''));
    },
    { what: 'the three managers running and reachable', ...poll },
  );
}

describe('a worker through the loss of its manager', () => {
  let w1Id = '';
  let serviceId = '';

  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 1, registry: true });
    await formManagers('m1', addrOf('m1'), ['m2', 'm3']);
    // w1 joins through m2, a follower: the leader keeps counting its beats while m2 is gone.
    const token = (await ok('m1', 'join-token', 'worker', '-q')).trim();
    await ok('w1', 'join', '--token', token, addrOf('m2'));
    await waitFor(async () => (await byHost('m1'))['w1']?.status === 'Ready', { what: 'w1 Ready', ...poll });
    w1Id = (await byHost('m1'))['w1']!.id;
    const out = await ok(
      'm1',
      ...['service', 'create', '--detach', '--name', 'web', '--replicas', '1'],
      ...['--constraint', 'node.role==worker', LAB_TEST_IMAGE, 'sleep', '1d'],
    );
    serviceId = out.trim().split('\n').at(-1)!;
    await waitFor(async () => (await taskContainers('w1')).length === 1, { what: 'web’s task running on w1', ...poll });
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  /** web's one task meant to run: the same task on w1 throughout, running. */
  async function webTask(host: string): Promise<TaskShape> {
    const tasks = (await apiGet<TaskShape[]>(lab!, host, '/tasks')).filter(
      (t) => t.ServiceID === serviceId && t.DesiredState === 'running',
    );
    expect(tasks).toHaveLength(1);
    return tasks[0]!;
  }

  it('a manager that hangs (cut off by a partition): heartbeats and session move on, w1 is never DOWN, its task runs on', async () => {
    // w1 joined through m2; which manager it talks to now is whichever answered it last.
    const inUse = await waitFor(
      async () => {
        const m = await w1Managers();
        return m.heartbeat && m.heartbeat === m.session ? m.heartbeat : undefined;
      },
      { what: 'w1’s heartbeats and session on one manager', ...poll },
    );
    const observer = ['m1', 'm2', 'm3'].find((h) => h !== inUse)!;
    const container = await taskContainers('w1');
    const task = await webTask(observer);
    const before = (await apiGet<NodeShape>(lab!, observer, `/nodes/${w1Id}`)).Version.Index;
    const watch = await watchNode(observer, w1Id);
    const failedAt = Date.now();
    await lab!.partition([inUse]);
    const now = await movedAndStillReady(watch, inUse, failedAt);
    const seen = await watch.stop();
    await lab!.heal();
    expect(now).not.toBe(inUse);
    // Never DOWN. A follower cut off changes nothing on the leader; the leader cut off makes the
    // new one hold every node UNKNOWN until it beats (as SwarmKit does) — then w1's first version
    // is still the one before, and its task the same one in the same container (a DOWN, even
    // between samples, would have had it replaced).
    expect(seen.states.filter((st) => st !== 'ready' && !st.startsWith('unknown'))).toEqual([]);
    expect(seen.versions[0]).toBe(before);
    expect(await taskContainers('w1')).toEqual(container);
    await waitFor(async () => (await webTask(observer)).ID === task.ID, { what: 'the same task of web', ...poll });
  });

  it('kill -9 of the manager it talks to (the leader): it moves on, never DOWN, its task runs on', async () => {
    await allManagersUp();
    const { heartbeat: inUse } = await w1Managers();
    expect(inUse).toBeDefined();
    const survivor = ['m1', 'm2', 'm3'].find((h) => h !== inUse && h !== 'm2')!;
    const container = await taskContainers('w1');
    const task = await webTask(survivor);
    const before = (await apiGet<NodeShape>(lab!, survivor, `/nodes/${w1Id}`)).Version.Index;
    const watch = await watchNode(survivor, w1Id);
    const failedAt = Date.now();
    await lab!.kill(inUse!);
    let now: string;
    let seen: Awaited<ReturnType<typeof watch.stop>>;
    try {
      now = await movedAndStillReady(watch, inUse!, failedAt);
      seen = await watch.stop();
    } finally {
      await watch.stop();
      await lab!.start(inUse!);
    }
    expect(now).not.toBe(inUse);
    // A new leader makes every node UNKNOWN until it hears from it, as SwarmKit's does (no new
    // task goes there meanwhile); w1 is never DOWN: its task is the same one, in the same container
    // (a DOWN, even between samples, would have had it replaced).
    expect(seen.states.filter((st) => st !== 'ready' && !st.startsWith('unknown'))).toEqual([]);
    expect(seen.versions[0]).toBe(before);
    expect(await taskContainers('w1')).toEqual(container);
    await waitFor(async () => (await webTask(survivor)).ID === task.ID, { what: 'the same task of web', ...poll });
    await waitFor(async () => ['Reachable', 'Leader'].includes((await byHost(survivor))[inUse!]?.managerStatus ?? ''), {
      what: `${inUse} back`,
      ...poll,
    });
  });

  it('restarted while the manager it joined through is down, it comes back through the managers it kept', async () => {
    await allManagersUp();
    const path = join(dataDir('w1'), MANAGERS_FILE);
    const { clusterId } = await info('w1');
    const kept = parseManagersFile(await readFile(path, 'utf8'), clusterId);
    expect(kept.map((m) => hostAt(m.addr)).sort()).toEqual(['m1', 'm2', 'm3']);
    const container = await taskContainers('w1');
    await lab!.stop('w1');
    // As a run that last talked to m2 would have left it: m2 first. m2 is also the join address.
    const m2First = [...kept].sort((a, b) => Number(hostAt(b.addr) === 'm2') - Number(hostAt(a.addr) === 'm2'));
    await writeFile(path, formatManagersFile(clusterId, m2First));
    await lab!.kill('m2');
    try {
      await lab!.start('w1');
      // Its session and its heartbeats each name a manager once one answered them (the first
      // beat may come after the session opened): the sample that shows both is the one checked.
      const m = await waitFor(
        async () => {
          if ((await byHost('m1'))['w1']?.status !== 'Ready') return undefined;
          const now = await w1Managers();
          return now.session !== undefined && now.heartbeat !== undefined ? now : undefined;
        },
        { what: 'w1 Ready again, with a session and answered heartbeats', ...poll },
      );
      expect(['m1', 'm3']).toContain(m.heartbeat);
      // The restarted agent adopted its task's container: no second one.
      expect(await taskContainers('w1')).toEqual(container);
    } finally {
      await lab!.start('m2');
    }
  });
});
