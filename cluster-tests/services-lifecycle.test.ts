import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';
import { docker, dockerOk } from './support/docker.js';
import { runningTasks, serviceTasks, type TaskShape } from './support/services.js';
import { swarmCli } from './support/swarm-cli.js';

// What a Swarm user relies on day to day (issue 16), through the real docker CLI where it has the
// flags: a global service follows the nodes (join, drain, active), a task whose node loses the
// label it is constrained to moves, a failing task is restarted by the policy's rules, and each
// slot keeps at most --task-history-limit tasks.
const M1 = '192.168.77.11:2377';
const name = `lc${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const { ok } = swarmCli(() => lab!);

const poll = { timeoutMs: 90_000, intervalMs: 500 };

const tasksOf = (service: string): Promise<TaskShape[]> => serviceTasks(lab!, 'm1', service);

/** Node IDs with a running task of the service meant to run, one entry per task. */
async function runningOn(service: string): Promise<string[]> {
  const tasks = await tasksOf(service);
  return runningTasks(tasks)
    .map((t) => t.NodeID ?? '')
    .sort();
}

async function nodeIds(): Promise<Record<string, string>> {
  const rows = await apiGet<{ ID: string; Description: { Hostname: string } }[]>(lab!, 'm1', '/nodes');
  return Object.fromEntries(rows.map((n) => [n.Description.Hostname, n.ID]));
}

const create = (args: string[]) =>
  dockerOk(lab!, 'm1', ['service', 'create', '--detach', '--quiet', ...args]).then((out) => out.trim());

describe('services through the nodes’ life, and the restart policy', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 2, registry: true });
    // m1 and w1 form the swarm; w2 joins during the first test.
    await ok('m1', 'init');
    const token = (await ok('m1', 'join-token', 'worker', '-q')).trim();
    await ok('w1', 'join', '--token', token, M1);
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('a global service runs one task per node: one more when a node joins, none on a drained node, back when active', async () => {
    const id = await create(['--name', 'agent', '--mode', 'global', LAB_TEST_IMAGE, 'sleep', '1d']);
    let ids = await nodeIds();
    await waitFor(async () => (await runningOn(id)).join() === [ids['m1']!, ids['w1']!].sort().join(), {
      what: 'one task on m1 and on w1',
      ...poll,
    });

    const token = (await ok('m1', 'join-token', 'worker', '-q')).trim();
    await ok('w2', 'join', '--token', token, M1);
    ids = await nodeIds();
    const all = [ids['m1']!, ids['w1']!, ids['w2']!].sort().join();
    await waitFor(async () => (await runningOn(id)).join() === all, { what: 'a task on w2 once it joined', ...poll });

    await dockerOk(lab!, 'm1', ['node', 'update', '--availability', 'drain', 'w1']);
    await waitFor(
      async () => {
        const tasks = await tasksOf(id);
        const onW1 = tasks.filter((t) => t.NodeID === ids['w1']);
        return onW1.every((t) => t.DesiredState === 'shutdown' && t.Status.State === 'shutdown');
      },
      { what: 'the task on drained w1 stopped', ...poll },
    );
    expect((await runningOn(id)).join()).toBe([ids['m1']!, ids['w2']!].sort().join());
    // `docker node ps` reads a node's tasks: w1's is shut down.
    const ps = await dockerOk(lab!, 'm1', ['node', 'ps', 'w1', '--format', '{{.Name}} {{.DesiredState}}']);
    expect(ps).toMatch(/^agent\.\S+ Shutdown$/m);

    await dockerOk(lab!, 'm1', ['node', 'update', '--availability', 'active', 'w1']);
    await waitFor(async () => (await runningOn(id)).join() === all, { what: 'a task on w1 again', ...poll });
    await dockerOk(lab!, 'm1', ['service', 'rm', id]);
  });

  it('a task whose node loses the label it is constrained to moves to a node that has it', async () => {
    await dockerOk(lab!, 'm1', ['node', 'update', '--label-add', 'zone=eu', 'w1']);
    const id = await create(['--name', 'eu', '--constraint', 'node.labels.zone==eu', LAB_TEST_IMAGE, 'sleep', '1d']);
    const ids = await nodeIds();
    await waitFor(async () => (await runningOn(id)).join() === ids['w1'], { what: 'the task on w1', ...poll });
    await dockerOk(lab!, 'm1', ['node', 'update', '--label-add', 'zone=eu', 'w2']);
    await dockerOk(lab!, 'm1', ['node', 'update', '--label-rm', 'zone', 'w1']);
    await waitFor(
      async () => {
        const tasks = await tasksOf(id);
        const meant = tasks.filter((t) => t.DesiredState === 'running');
        return meant.length === 1 && meant[0]!.NodeID === ids['w2'] && meant[0]!.Status.State === 'running';
      },
      { what: 'the task moved to w2, the one on w1 told to stop', ...poll },
    );
    await dockerOk(lab!, 'm1', ['service', 'rm', id]);
  });

  it('restart policy: on-failure restarts up to the maximum, then the slot stays failed; none restarts nothing', async () => {
    const flaky = await create([
      '--name',
      'flaky',
      '--restart-condition',
      'on-failure',
      '--restart-delay',
      '1s',
      '--restart-max-attempts',
      '2',
      LAB_TEST_IMAGE,
      'sh',
      '-c',
      'exit 3',
    ]);
    const once = await create(['--name', 'once', '--restart-condition', 'none', LAB_TEST_IMAGE, 'sh', '-c', 'exit 3']);
    // The first try and two restarts fail; then nothing more.
    await waitFor(async () => (await tasksOf(flaky)).filter((t) => t.Status.State === 'failed').length === 3, {
      what: 'three failed tasks of flaky',
      ...poll,
    });
    await waitFor(async () => (await tasksOf(once)).some((t) => t.Status.State === 'failed'), {
      what: 'the task of once failed',
      ...poll,
    });
    // Settled: the leader has planned after the last failure (the service's counts come from the
    // same store), and no task of either service waits or runs.
    const settled = async (id: string) =>
      (await tasksOf(id)).every((t) => ['failed', 'shutdown', 'complete'].includes(t.Status.State));
    await waitFor(async () => (await settled(flaky)) && (await settled(once)), { what: 'both settled', ...poll });
    const flakyTasks = await tasksOf(flaky);
    expect(flakyTasks).toHaveLength(3);
    expect(flakyTasks.every((t) => t.Slot === 1 && (t.Status.Err ?? '') === 'task: non-zero exit (3)')).toBe(true);
    expect(await tasksOf(once)).toHaveLength(1);
    const ls = await dockerOk(lab!, 'm1', ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}']);
    expect(ls).toMatch(/^flaky 0\/1$/m);
    await dockerOk(lab!, 'm1', ['service', 'rm', flaky, once]);
  });

  it('a replicated job with --replicas 4 --max-concurrent 2 completes 4 times, at most 2 at a time, and stops', async () => {
    // Not detached: tswarm's progress follows the job until it is complete.
    const out = await ok(
      'm1',
      'service',
      'create',
      '--name',
      'batch',
      '--mode',
      'replicated-job',
      '--replicas',
      '4',
      '--max-concurrent',
      '2',
      LAB_TEST_IMAGE,
      'sh',
      '-c',
      'sleep 1',
    );
    expect(out).toContain('job progress: 4 out of 4 complete');
    expect(out.trim().split('\n').at(-1)).toBe('job complete');
    const id = (await ok('m1', 'service', 'ls', '-q', '--filter', 'name=batch')).trim();
    const tasks = await tasksOf(id);
    expect(tasks.filter((t) => t.Status.State === 'complete')).toHaveLength(4);
    expect(tasks).toHaveLength(4);
    // Never more than 2 at once: the 4 runs' start and end times overlap at most pairwise.
    const runs = await Promise.all(
      tasks.map(async (t) => {
        const task = await apiGet<{ Status: { ContainerStatus?: { ContainerID: string } }; NodeID: string }>(
          lab!,
          'm1',
          `/tasks/${t.ID}`,
        );
        const host = Object.entries(await nodeIds()).find(([, nid]) => nid === task.NodeID)![0];
        const state = JSON.parse(
          await dockerOk(lab!, host, [
            'inspect',
            '--format',
            '{{json .State}}',
            task.Status.ContainerStatus!.ContainerID,
          ]),
        ) as { StartedAt: string; FinishedAt: string };
        return [Date.parse(state.StartedAt), Date.parse(state.FinishedAt)] as const;
      }),
    );
    for (const [start] of runs)
      expect(runs.filter(([s, e]) => s <= start && start < e).length, 'runs at once').toBeLessThanOrEqual(2);
    const ls = await dockerOk(lab!, 'm1', [
      'service',
      'ls',
      '--filter',
      'name=batch',
      '--format',
      '{{.Mode}} {{.Replicas}}',
    ]);
    expect(ls.trim()).toBe('replicated job 0/0 (4/4 completed)');
    const table = await ok('m1', 'service', 'ls', '--filter', 'name=batch');
    expect(table).toMatch(/batch\s+replicated job\s+0\/0 \(4\/4 completed\)/);
    await ok('m1', 'service', 'rm', 'batch');
  });

  it('a global job runs once on every node; tswarm node ps lists a node’s tasks', async () => {
    await ok('m1', 'service', 'create', '--name', 'once-each', '--mode', 'global-job', LAB_TEST_IMAGE, 'true');
    const id = (await ok('m1', 'service', 'ls', '-q', '--filter', 'name=once-each')).trim();
    const ids = await nodeIds();
    const tasks = await tasksOf(id);
    expect(
      tasks
        .filter((t) => t.Status.State === 'complete')
        .map((t) => t.NodeID)
        .sort(),
    ).toEqual(Object.values(ids).sort());
    const ps = await ok('m1', 'node', 'ps', 'w2', '--format', '{{.Name}} {{.Node}} {{.DesiredState}}');
    expect(ps).toContain(`once-each.${ids['w2']} w2 Complete`);
    await ok('m1', 'service', 'rm', 'once-each');
  });

  it('each slot keeps at most --task-history-limit tasks', async () => {
    await ok('m1', 'swarm', 'update', '--task-history-limit', '2');
    const swarm = await dockerOk(lab!, 'm1', ['info', '--format', '{{json .Swarm.Cluster.Spec.Orchestration}}']);
    expect(JSON.parse(swarm)).toEqual({ TaskHistoryRetentionLimit: 2 });
    const id = await create([
      '--name',
      'crashy',
      '--restart-delay',
      '0s',
      '--restart-max-attempts',
      '6',
      LAB_TEST_IMAGE,
      'sh',
      '-c',
      'exit 1',
    ]);
    // Seven runs in all; the slot is seen with at most two tasks throughout, and ends with two.
    let most = 0;
    await waitFor(
      async () => {
        const tasks = await tasksOf(id);
        most = Math.max(most, tasks.length);
        const latest = tasks.find((t) => t.DesiredState === 'shutdown' && t.Status.State === 'failed');
        return latest !== undefined && tasks.length === 2 && tasks.every((t) => t.Status.State === 'failed');
      },
      { what: 'crashy given up, with two tasks kept', ...poll },
    );
    // The reaper runs after each write; between a restart and its reap a slot may hold one more.
    expect(most).toBeLessThanOrEqual(3);
    const r = await docker(lab!, 'm1', ['service', 'ps', '--format', '{{.Name}}', id]);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });
});
