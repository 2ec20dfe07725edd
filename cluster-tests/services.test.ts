import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { waitFor } from '../lib/poll.js';
import { docker, rawRequest } from './support/docker.js';

// Services on real daemons: the control API, the leader's orchestrator and scheduler, the Engine
// API and both CLIs. The worker's agent does not run tasks yet, so this checks placement (each
// task ASSIGNED to a node), scaling and removal; once it does, `runningTasks` below becomes the
// one wait to add before each assertion on placement.
const name = `sv${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const IMAGE = 'lab/busybox:1';

interface PsTask {
  ID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string };
}

const tswarm = (host: string, ...args: string[]) => lab!.exec(host, ['tswarm', ...args], { timeoutMs: 90_000 });

async function ok(host: string, ...args: string[]): Promise<string> {
  const r = await tswarm(host, ...args);
  if (r.code !== 0) throw new Error(`tswarm ${args.join(' ')} on ${host} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The tasks of `service` meant to run, as `service ps --format json` shows them. */
async function desiredRunning(host: string, service: string): Promise<PsTask[]> {
  const tasks = JSON.parse(await ok(host, 'service', 'ps', service, '--format', 'json')) as PsTask[];
  return tasks.filter((t) => t.DesiredState === 'running');
}

/** `GET /tasks` on a host's Engine API (no CLI lists every task): the tasks of `serviceId`. */
async function tasksOf(host: string, serviceId: string): Promise<PsTask[]> {
  const { response } = await rawRequest(
    lab!,
    host,
    `GET /v1.50/tasks HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`,
  );
  const body = response.slice(response.indexOf('\r\n\r\n') + 4).trim();
  return (JSON.parse(body) as (PsTask & { ServiceID: string })[]).filter((t) => t.ServiceID === serviceId);
}

const poll = { timeoutMs: 30_000, intervalMs: 500 };

describe('services: create, place, list with both CLIs, scale, remove', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 2 });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('places 4 replicas across the nodes, lists them in docker service ls, scales to 2, removes', async () => {
    const id = (
      await ok('m1', 'service', 'create', '--detach', '--name', 'web', '--replicas', '4', IMAGE, 'sleep', '1d')
    )
      .trim()
      .split('\n')
      .at(-1)!;
    expect(id).toMatch(/^[0-9a-z]{25}$/);

    // Read on m2, a follower: the orchestrator made 4 slots and the scheduler gave each a node.
    const placed = await waitFor(
      async () => {
        const tasks = await desiredRunning('m2', 'web');
        return tasks.length === 4 && tasks.every((t) => t.NodeID && t.Status.State === 'assigned') && tasks;
      },
      { what: '4 tasks of web assigned to nodes', ...poll },
    );
    expect(placed.map((t) => t.Slot).sort()).toEqual([1, 2, 3, 4]);
    // Spread: 4 tasks over 5 empty nodes land on 4 different nodes.
    expect(new Set(placed.map((t) => t.NodeID)).size).toBe(4);
    const table = await ok('m1', 'service', 'ps', 'web');
    expect(table).toMatch(/^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR/);
    expect(table).toMatch(/web\.1\s+lab\/busybox:1\s+(m|w)\d\s+Running\s+Assigned/);

    // The real docker CLI lists it through the same Engine API: REPLICAS running/desired.
    const ls = await docker(lab!, 'm3', ['service', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${id.slice(0, 12)}\\s+web\\s+replicated\\s+0/4\\s+${IMAGE}`));
    expect(await ok('m1', 'service', 'ls')).toMatch(/web\s+replicated\s+0\/4\s+lab\/busybox:1/);

    const scaled = await ok('m1', 'service', 'scale', '--detach', 'web=2');
    expect(scaled).toBe('web scaled to 2\n');
    await waitFor(async () => (await desiredRunning('m1', 'web')).length === 2, {
      what: 'web to have 2 tasks meant to run',
      ...poll,
    });
    const [inspected] = JSON.parse(await ok('m1', 'service', 'inspect', 'web')) as {
      Spec: { Mode: { Replicated: { Replicas: number } } };
    }[];
    expect(inspected!.Spec.Mode.Replicated.Replicas).toBe(2);

    expect(await ok('m1', 'service', 'rm', 'web')).toBe('web\n');
    // The service is gone; its tasks are told to go (REMOVE) and none is meant to run any more.
    await waitFor(
      async () => {
        const r = await lab!.exec('m1', ['tswarm', 'service', 'ps', id]);
        const tasks = await docker(lab!, 'm1', ['service', 'ls', '-q']);
        return r.code !== 0 && r.stderr.includes('not found') && tasks.stdout.trim() === '';
      },
      { what: 'web to be gone', ...poll },
    );
    // Its tasks: none meant to run. Those ASSIGNED stay at desired REMOVE until their node's
    // agent reports them stopped (then the orchestrator deletes them); with the agent, wait for none.
    await waitFor(async () => (await tasksOf('m1', id)).every((t) => t.DesiredState === 'remove'), {
      what: "web's tasks to be told to go",
      ...poll,
    });
  }, 120_000);

  it('the real docker CLI: service create, ps, scale, inspect, rm', async () => {
    const d = async (...args: string[]) => {
      const r = await docker(lab!, 'm2', args);
      expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    // --detach: the docker CLI would otherwise wait for running tasks, which needs the agent.
    const id = (await d('service', 'create', '--detach', '--name', 'api', '--replicas', '3', IMAGE)).trim();
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    await waitFor(
      async () => {
        const ps = await d('service', 'ps', 'api');
        return (ps.match(/api\.\d\s+lab\/busybox:1\s+(m|w)\d\s+Running\s+Assigned/g) ?? []).length === 3;
      },
      { what: 'docker service ps api to show 3 assigned tasks on nodes', ...poll },
    );
    expect(await d('service', 'scale', '--detach', 'api=5')).toContain('api scaled to 5');
    await waitFor(async () => (await desiredRunning('m1', 'api')).filter((t) => t.NodeID).length === 5, {
      what: 'api to have 5 tasks on nodes',
      ...poll,
    });
    const [inspected] = JSON.parse(await d('service', 'inspect', 'api')) as {
      ID: string;
      Spec: { Name: string; Mode: { Replicated: { Replicas: number } } };
    }[];
    expect(inspected).toMatchObject({ ID: id, Spec: { Name: 'api', Mode: { Replicated: { Replicas: 5 } } } });
    expect(await d('service', 'rm', 'api')).toBe('api\n');
    const gone = await docker(lab!, 'm2', ['service', 'inspect', 'api']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no such service: api');
  }, 120_000);
});
