import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { apiGet } from './support/attack.js';
import { docker } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';
import { doubledSlots, type TaskShape } from './support/services.js';

// A service kept at N through a node's death (issue 15): `kill -9` of a worker's tswarmd marks it
// DOWN once its heartbeats stop, and the leader's orchestrator replaces its tasks on the other
// worker. When the daemon comes back, its agent is told the old tasks are shut down: it stops their
// containers, so no slot ever ends with two running tasks.
const name = `sd${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;

const { ok, nodeRows } = swarmCli(() => lab!);

const poll = { timeoutMs: 90_000, intervalMs: 500 };

async function tasksOf(serviceId: string): Promise<TaskShape[]> {
  const all = await apiGet<(TaskShape & { ServiceID: string })[]>(lab!, 'm1', '/tasks');
  return all.filter((t) => t.ServiceID === serviceId);
}

/** Running task containers on `host`, as the real docker CLI lists them there. */
async function runningContainers(host: string): Promise<string[]> {
  const r = await docker(lab!, host, ['ps', '-q', '--filter', 'label=com.docker.swarm.task.id']);
  if (r.code !== 0) throw new Error(`docker ps on ${host}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe('services through a worker’s death', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 2, registry: true });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('kill -9 of a worker’s daemon: its tasks run on the other worker; back, its stale tasks stop', async () => {
    const out = await ok(
      'm1',
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--replicas',
      '4',
      '--constraint',
      'node.role==worker',
      LAB_TEST_IMAGE,
      'sleep',
      '1d',
    );
    const id = out.trim().split('\n').at(-1)!;
    const ids = Object.fromEntries((await nodeRows('m1')).map((n) => [n.hostname, n.id]));
    const runningOn = (tasks: TaskShape[], host: string) =>
      tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.NodeID === ids[host]);
    // Spread over the two workers: 2 each.
    await waitFor(
      async () => {
        const tasks = await tasksOf(id);
        return runningOn(tasks, 'w1').length === 2 && runningOn(tasks, 'w2').length === 2;
      },
      { what: '4 tasks of web running, 2 on each worker', ...poll },
    );

    await lab!.kill('w1');
    // The manager sees w1's heartbeats stop, marks it Down, and its 2 slots move to w2.
    await waitFor(
      async () => {
        const tasks = await tasksOf(id);
        return runningOn(tasks, 'w2').length === 4 && doubledSlots(tasks).length === 0;
      },
      { what: 'all 4 slots running on w2', ...poll },
    );
    const down = (await nodeRows('m1')).find((n) => n.hostname === 'w1');
    expect(down?.status).toMatch(/^Down/);

    await lab!.start('w1');
    // Back: its agent learns its two tasks are shut down and stops them; w2 keeps the 4.
    await waitFor(async () => (await runningContainers('w1')).length === 0, {
      what: 'w1’s stale task containers stopped',
      ...poll,
    });
    await waitFor(async () => (await nodeRows('m1')).find((n) => n.hostname === 'w1')?.status === 'Ready', {
      what: 'w1 Ready again',
      ...poll,
    });
    await waitFor(async () => doubledSlots(await tasksOf(id), true).length === 0, {
      what: 'w1’s stale tasks reported stopped',
      ...poll,
    });
    const tasks = await tasksOf(id);
    expect(
      runningOn(tasks, 'w2')
        .map((t) => t.Slot)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    expect((await runningContainers('w2')).length).toBe(4);
  }, 300_000);
});
