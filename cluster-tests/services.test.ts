import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { waitFor } from '../lib/poll.js';
import { docker, rawRequest } from './support/docker.js';
import { apiGet } from './support/attack.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';

// Services on real daemons, end to end: the control API, the leader's orchestrator and scheduler,
// the dispatcher's task channel, and every node's agent running the tasks as real containers
// (crun), driven by tswarm's CLI and the real docker CLI. Each placed task must be a running
// container on the node the scheduler chose; scaling down and removing must stop and remove them.
const name = `sv${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const IMAGE = LAB_TEST_IMAGE;

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
/** Long enough for the first pull of the image from the lab registry on every node. */
const pollRunning = { timeoutMs: 90_000, intervalMs: 500 };

/** The lab host a node ID belongs to, from `node ls` (hostnames are the lab's host names). */
async function hostsById(): Promise<Map<string, string>> {
  const rows = JSON.parse(await ok('m1', 'node', 'ls', '--format', 'json')) as { id: string; hostname: string }[];
  return new Map(rows.map((r) => [r.id, r.hostname]));
}

/** The containers of task `taskId` on `host`, as the real docker CLI lists them there: "ID STATE". */
async function containersOfTask(host: string, taskId: string): Promise<string[]> {
  const r = await docker(lab!, host, [
    'ps',
    '-a',
    '--filter',
    `label=com.docker.swarm.task.id=${taskId}`,
    '--format',
    '{{.ID}} {{.State}}',
  ]);
  if (r.code !== 0) throw new Error(`docker ps on ${host}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe('services: create, place, list with both CLIs, scale, remove', () => {
  beforeAll(async () => {
    // With the lab registry (reg, holding the test image), which the agents pull from.
    lab = await Lab.up({ name, managers: 3, workers: 2, registry: true });
    await formSwarm(lab);
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('places 4 replicas across the nodes, lists them in docker service ls, scales to 2, removes', async () => {
    // The scheduler places only on Ready nodes: all five are, before the service is made.
    await waitFor(
      async () =>
        (await apiGet<{ Status: { State: string } }[]>(lab!, 'm1', '/nodes')).filter((n) => n.Status.State === 'ready')
          .length === 5,
      { what: 'the five nodes Ready', ...pollRunning },
    );
    const id = (
      await ok('m1', 'service', 'create', '--detach', '--name', 'web', '--replicas', '4', IMAGE, 'sleep', '1d')
    )
      .trim()
      .split('\n')
      .at(-1)!;
    expect(id).toMatch(/^[0-9a-z]{25}$/);

    // Read on m2, a follower: the orchestrator made 4 slots, the scheduler gave each a node, and
    // each node's agent pulled the image and started the container.
    const placed = await waitFor(
      async () => {
        const tasks = await desiredRunning('m2', 'web');
        return tasks.length === 4 && tasks.every((t) => t.NodeID && t.Status.State === 'running') && tasks;
      },
      { what: '4 tasks of web running on nodes', ...pollRunning },
    );
    expect(placed.map((t) => t.Slot).sort()).toEqual([1, 2, 3, 4]);
    // Spread: 4 tasks over 5 empty nodes land on 4 different nodes.
    // (The nodes' states now, to tell a spread fault from a node that was not Ready at placement.)
    const states = async () =>
      (await apiGet<{ Description: { Hostname: string }; Status: { State: string } }[]>(lab!, 'm1', '/nodes'))
        .map((n) => `${n.Description.Hostname}:${n.Status.State}`)
        .join(' ');
    expect(new Set(placed.map((t) => t.NodeID)).size, await states()).toBe(4);
    // Each task is a running container on the node it was placed on (docker ps there).
    const hosts = await hostsById();
    for (const t of placed) {
      const containers = await containersOfTask(hosts.get(t.NodeID!)!, t.ID);
      expect(containers, `task ${t.ID} on ${hosts.get(t.NodeID!)}`).toHaveLength(1);
      expect(containers[0]).toMatch(/ running$/);
    }
    const table = await ok('m1', 'service', 'ps', 'web');
    expect(table).toMatch(/^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR/);
    expect(table).toMatch(/web\.1\s+\S*lab\/busybox:1\s+(m|w)\d\s+Running\s+Running/);

    // The real docker CLI lists it through the same Engine API: REPLICAS running/desired.
    const ls = await docker(lab!, 'm3', ['service', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${id.slice(0, 12)}\\s+web\\s+replicated\\s+4/4\\s+${IMAGE}`));
    expect(await ok('m1', 'service', 'ls')).toMatch(/web\s+replicated\s+4\/4\s+\S*lab\/busybox:1/);

    const scaled = await ok('m1', 'service', 'scale', '--detach', 'web=2');
    expect(scaled).toBe('web scaled to 2\n');
    await waitFor(async () => (await desiredRunning('m1', 'web')).length === 2, {
      what: 'web to have 2 tasks meant to run',
      ...poll,
    });
    // The two shut down are stopped and removed on their nodes; the two kept still run.
    const kept = new Set((await desiredRunning('m1', 'web')).map((t) => t.ID));
    await waitFor(
      async () => {
        for (const t of placed) {
          const containers = await containersOfTask(hosts.get(t.NodeID!)!, t.ID);
          const want = kept.has(t.ID) ? 1 : 0;
          if (containers.length !== want || (want === 1 && !containers[0]!.endsWith(' running'))) return false;
        }
        return true;
      },
      { what: 'the scaled-down tasks’ containers gone, the others running', ...pollRunning },
    );
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
    // Its tasks are stopped by their agents, then deleted by the orchestrator; no container is left.
    await waitFor(async () => (await tasksOf('m1', id)).length === 0, { what: "web's tasks gone", ...pollRunning });
    await waitFor(
      async () => {
        for (const t of placed) if ((await containersOfTask(hosts.get(t.NodeID!)!, t.ID)).length > 0) return false;
        return true;
      },
      { what: "web's containers gone from every node", ...pollRunning },
    );
  }, 120_000);

  it('the real docker CLI: service create, ps, scale, inspect, rm', async () => {
    const d = async (...args: string[]) => {
      const r = await docker(lab!, 'm2', args);
      expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    // Without --detach, docker's own progress display waits until the 3 tasks run (its exit 0 says so).
    const id = (await d('service', 'create', '--name', 'api', '--replicas', '3', IMAGE, 'sleep', '1d'))
      .trim()
      .split('\n')[0]!;
    expect(id).toMatch(/^[0-9a-z]{25}$/);
    await waitFor(
      async () => {
        const ps = await d('service', 'ps', 'api');
        return (ps.match(/api\.\d\s+\S*lab\/busybox:1\s+(m|w)\d\s+Running\s+Running/g) ?? []).length === 3;
      },
      { what: 'docker service ps api to show 3 running tasks on nodes', ...pollRunning },
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
