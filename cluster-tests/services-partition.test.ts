import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';
import { docker } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';
import { doubledSlots, type TaskShape } from './support/services.js';

// A service through what real multi-machine clusters see (issue 16): a worker cut off from every
// manager, and a worker whose machine crashes. A cut-off worker keeps its containers running (its
// agent has no manager to tell it otherwise); the manager marks it DOWN and runs its slots
// elsewhere; once the partition heals, the worker is told its old tasks are shut down and stops
// them, so each slot ends with one running task. A crashed machine loses its containers' processes
// with it; once it restarts, none of its old tasks runs again, and the containers of tasks the
// managers no longer keep are removed.
const name = `sp${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;

const { ok, nodeRows } = swarmCli(() => lab!);

/** One task container on a host, as `docker ps -a` lists it there. */
interface ContainerRow {
  id: string;
  state: string;
  taskId: string;
}

const REPLICAS = 4;
const poll = { timeoutMs: 90_000, intervalMs: 500 };

async function tasksOf(serviceId: string): Promise<TaskShape[]> {
  const all = await apiGet<TaskShape[]>(lab!, 'm1', '/tasks');
  return all.filter((t) => t.ServiceID === serviceId);
}

/** The service's task containers on `host`, running or not, through the real docker CLI on its own socket. */
async function containersOf(on: Lab, host: string, service: string): Promise<ContainerRow[]> {
  const r = await docker(on, host, [
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=com.docker.swarm.service.name=${service}`,
    '--format',
    '{{.ID}} {{.State}} {{.Label "com.docker.swarm.task.id"}}',
  ]);
  if (r.code !== 0) throw new Error(`docker ps on ${host}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', state = '', taskId = ''] = l.trim().split(' ');
      return { id, state, taskId };
    });
}

const runningIds = (rows: readonly ContainerRow[]) =>
  rows
    .filter((c) => c.state === 'running')
    .map((c) => c.id)
    .sort();

describe('services through partitions and crashes', () => {
  let serviceId = '';
  let ids: Record<string, string> = {};
  const runningOn = (tasks: readonly TaskShape[], host: string) =>
    tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.NodeID === ids[host]);
  const status = async (host: string) => (await nodeRows('m1')).find((n) => n.hostname === host)?.status;

  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 2, registry: true });
    await formSwarm(lab);
    ids = Object.fromEntries((await nodeRows('m1')).map((n) => [n.hostname, n.id]));
    const out = await ok(
      'm1',
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--replicas',
      String(REPLICAS),
      '--constraint',
      'node.role==worker',
      LAB_TEST_IMAGE,
      'sleep',
      '1d',
    );
    serviceId = out.trim().split('\n').at(-1)!;
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('a worker cut off from every manager keeps its containers; its slots move; healed, the surplus stops', async () => {
    await waitFor(
      async () => {
        const tasks = await tasksOf(serviceId);
        return runningOn(tasks, 'w1').length === 2 && runningOn(tasks, 'w2').length === 2;
      },
      { what: '4 tasks of web running, 2 on each worker', ...poll },
    );
    const w1Before = runningIds(await containersOf(lab!, 'w1', 'web'));
    expect(w1Before).toHaveLength(2);

    // w1 alone; the registry stays on the first group's side, with the manager and w2.
    await lab!.partition(['m1,w2', 'w1']);
    // Through the whole partition, w1's own daemon must show the same two containers running:
    // no manager can reach it, so nothing may stop them.
    const w1Seen: string[][] = [];
    // Replacements come only once w1 is DOWN: a slot moved while its node still counts as Ready
    // would run twice whenever the node was merely slow. The tasks are read before the node, so a
    // replacement seen with w1 still Ready afterwards really came first.
    let movedEarly = false;
    await waitFor(
      async () => {
        w1Seen.push(runningIds(await containersOf(lab!, 'w1', 'web')));
        const tasks = await tasksOf(serviceId);
        const w1Status = await status('w1');
        const meantOnW2 = tasks.filter((t) => t.DesiredState === 'running' && t.NodeID === ids['w2']).length;
        if (meantOnW2 > 2 && w1Status === 'Ready') movedEarly = true;
        return (
          w1Status?.startsWith('Down') && runningOn(tasks, 'w2').length === REPLICAS && doubledSlots(tasks).length === 0
        );
      },
      { what: 'w1 Down and all 4 slots running on w2', ...poll },
    );
    expect(movedEarly).toBe(false);
    // Replaced elsewhere, and still running on w1 (its agent reconnects in vain meanwhile).
    w1Seen.push(runningIds(await containersOf(lab!, 'w1', 'web')));
    expect(w1Seen.length).toBeGreaterThan(1);
    for (const seen of w1Seen) expect(seen).toEqual(w1Before);
    const replaced = await tasksOf(serviceId);
    // The stale tasks are still the store's last word of w1: told to shut down, last seen running.
    const stale = replaced.filter((t) => t.NodeID === ids['w1'] && t.Status.State === 'running');
    expect(stale).toHaveLength(2);
    expect(stale.every((t) => t.DesiredState === 'shutdown')).toBe(true);

    await lab!.heal();
    // Back: w1 opens a session, learns its two tasks are shut down, stops their containers.
    await waitFor(async () => (await status('w1')) === 'Ready', { what: 'w1 Ready again', ...poll });
    await waitFor(async () => runningIds(await containersOf(lab!, 'w1', 'web')).length === 0, {
      what: 'w1’s stale task containers stopped',
      ...poll,
    });
    await waitFor(async () => doubledSlots(await tasksOf(serviceId), true).length === 0, {
      what: 'w1’s stale tasks reported stopped',
      ...poll,
    });
    const tasks = await tasksOf(serviceId);
    expect(
      runningOn(tasks, 'w2')
        .map((t) => t.Slot)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    for (const t of stale) expect(tasks.find((x) => x.ID === t.ID)?.Status.State).toBe('shutdown');
    // What really runs: the 4 on w2, nothing on w1; w1 keeps its stopped ones as history, as Docker does.
    expect(runningIds(await containersOf(lab!, 'w2', 'web'))).toHaveLength(REPLICAS);
    const w1After = await containersOf(lab!, 'w1', 'web');
    expect(w1After.map((c) => c.id).sort()).toEqual(w1Before);
    expect(w1After.every((c) => c.state === 'exited')).toBe(true);
  }, 300_000);

  it('lab crash of a worker: its tasks run on the other; restarted, none of its old containers is left running', async () => {
    // After the partition, the 4 run on w2.
    const w2Before = await containersOf(lab!, 'w2', 'web');
    expect(runningIds(w2Before)).toHaveLength(REPLICAS);
    const crashedTasks = new Set(w2Before.filter((c) => c.state === 'running').map((c) => c.taskId));

    await lab!.crash('w2');
    await waitFor(
      async () => {
        const tasks = await tasksOf(serviceId);
        return (
          (await status('w2'))?.startsWith('Down') &&
          runningOn(tasks, 'w1').length === REPLICAS &&
          doubledSlots(tasks).length === 0
        );
      },
      { what: 'w2 Down and all 4 slots running on w1', ...poll },
    );

    await lab!.start('w2');
    await waitFor(async () => (await status('w2')) === 'Ready', { what: 'w2 Ready again', ...poll });
    // Its containers died with the machine and none starts again: the tasks are shut down.
    await waitFor(async () => doubledSlots(await tasksOf(serviceId), true).length === 0, {
      what: 'w2’s old tasks reported ended',
      ...poll,
    });
    expect(runningIds(await containersOf(lab!, 'w2', 'web'))).toEqual([]);
    const tasks = await tasksOf(serviceId);
    expect(
      runningOn(tasks, 'w1')
        .map((t) => t.Slot)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    for (const id of crashedTasks) expect(tasks.find((t) => t.ID === id)?.DesiredState).toBe('shutdown');

    // A task the managers no longer keep has no container left anywhere: with one task kept per
    // slot, the reaper deletes the old tasks, and each node removes their containers.
    await ok('m1', 'swarm', 'update', '--task-history-limit', '1');
    await waitFor(
      async () => {
        const [w1, w2] = await Promise.all([containersOf(lab!, 'w1', 'web'), containersOf(lab!, 'w2', 'web')]);
        return w2.length === 0 && w1.length === REPLICAS;
      },
      { what: 'the containers of reaped tasks removed on both workers', ...poll },
    );
    const kept = await tasksOf(serviceId);
    expect(kept).toHaveLength(REPLICAS);
    const w1 = await containersOf(lab!, 'w1', 'web');
    expect(w1.every((c) => c.state === 'running')).toBe(true);
    expect(w1.map((c) => c.taskId).sort()).toEqual(kept.map((t) => t.ID).sort());
  }, 300_000);
});

// The leader cut off from the other managers and from every worker: the majority elects another
// leader, the workers' sessions move to a reachable manager before the new leader's DOWN deadline
// runs out, and the service goes on with the same tasks and containers — nothing replaced, as a
// Docker Swarm user expects of losing a manager. Healed, the old leader rejoins as a follower.
describe('services through a partition of the leader', () => {
  const labName = `${name}l`;
  let lab3: Lab | undefined;
  const cli = swarmCli(() => lab3!);

  beforeAll(async () => {
    lab3 = await Lab.up({ name: labName, managers: 3, workers: 2, registry: true });
    await formSwarm(lab3);
  }, 240_000);

  afterAll(async () => {
    await lab3?.down();
  });

  it('the leader partitioned away: a new leader scales the service, the first tasks never replaced; healed, a follower', async () => {
    const out = await cli.ok(
      'm1',
      'service',
      'create',
      '--detach',
      '--name',
      'api',
      '--replicas',
      String(REPLICAS),
      '--constraint',
      'node.role==worker',
      LAB_TEST_IMAGE,
      'sleep',
      '1d',
    );
    const id = out.trim().split('\n').at(-1)!;
    const tasksVia = async (host: string) =>
      (await apiGet<TaskShape[]>(lab3!, host, '/tasks')).filter((t) => t.ServiceID === id);
    const runningTaskIds = (tasks: readonly TaskShape[]) =>
      tasks
        .filter((t) => t.DesiredState === 'running' && t.Status.State === 'running')
        .map((t) => t.ID)
        .sort();
    const before = await waitFor(
      async () => {
        const running = runningTaskIds(await tasksVia('m1'));
        return running.length === REPLICAS ? running : false;
      },
      { what: '4 tasks of api running', ...poll },
    );
    const containersBefore = Object.fromEntries(
      await Promise.all(['w1', 'w2'].map(async (h) => [h, runningIds(await containersOf(lab3!, h, 'api'))] as const)),
    );
    const rows = await cli.nodeRows('m1');
    const leader = rows.find((r) => r.managerStatus === 'Leader')!.hostname;
    const majority = ['m1', 'm2', 'm3'].filter((h) => h !== leader);
    // The old leader alone; the registry stays with the first group.
    await lab3!.partition([[...majority, 'w1', 'w2'].join(','), leader]);

    const via = majority[0]!;
    await waitFor(
      async () => {
        const r = await cli.byHost(via);
        const newLeader = Object.values(r).find((n) => n.managerStatus === 'Leader')?.hostname;
        return (
          newLeader !== undefined && newLeader !== leader && r['w1']?.status === 'Ready' && r['w2']?.status === 'Ready'
        );
      },
      { what: `a new leader among ${majority.join(', ')}, both workers Ready`, ...poll },
    );
    // The new leader drives the workers: a scale through it runs 2 more tasks, so both workers hold
    // sessions with it. The first 4 are untouched: the workers never went DOWN, nothing replaced them.
    await cli.ok(via, 'service', 'scale', '--detach', 'api=6');
    const scaled = await waitFor(
      async () => {
        const tasks = await tasksVia(via);
        return runningTaskIds(tasks).length === REPLICAS + 2 ? tasks : false;
      },
      { what: 'api scaled to 6 by the new leader', ...poll },
    );
    expect(scaled).toHaveLength(REPLICAS + 2);
    expect(runningTaskIds(scaled).filter((t) => before.includes(t))).toEqual(before);
    for (const h of ['w1', 'w2'])
      expect(runningIds(await containersOf(lab3!, h, 'api'))).toEqual(expect.arrayContaining(containersBefore[h]!));

    await lab3!.heal();
    await waitFor(
      async () => {
        const r = await cli.byHost(via);
        return r[leader]?.status === 'Ready' && r[leader]?.managerStatus === 'Reachable';
      },
      { what: `${leader} back as a reachable follower`, ...poll },
    );
    // Read through the old leader, now a follower (polled: it may still be finding the leader):
    // the same 6 tasks, the first 4 never replaced.
    const after = await waitFor(() => tasksVia(leader), { what: `tasks read on ${leader}`, ...poll });
    expect(runningTaskIds(after)).toEqual(runningTaskIds(scaled));
    expect(after).toHaveLength(REPLICAS + 2);
    const running = await Promise.all(['w1', 'w2'].map(async (h) => runningIds(await containersOf(lab3!, h, 'api'))));
    expect(running.flat()).toHaveLength(REPLICAS + 2);
    for (const [i, h] of ['w1', 'w2'].entries())
      expect(running[i]).toEqual(expect.arrayContaining(containersBefore[h]!));
  }, 300_000);
});
