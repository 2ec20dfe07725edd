import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { formSwarm } from '../lab/form-swarm.js';
import { LAB_TEST_IMAGE } from '../lab/registry.js';
import { waitFor } from '../lib/poll.js';
import { dockerPy } from './support/docker.js';
import { swarmCli } from './support/swarm-cli.js';
import {
  countBy,
  runningTaskContainers,
  runningTasks,
  serviceTasks,
  STOPS_ON_TERM,
  type TaskShape,
} from './support/services.js';

// Where the scheduler puts tasks, on real daemons (issue 15): 3 managers and 3 workers, w1 with
// the engine label disk=ssd. Constraints on the node's role and on engine labels, memory
// reservations that fit N tasks per node, services no node can take (and the reason `service ps`
// gives), and the Python docker SDK driving the same API. Every placement is checked twice: in
// the store (the tasks' nodes) and on the hosts (the containers the real docker CLI lists there).
const name = `sp${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const { ok, byHost } = swarmCli(() => lab!);

const MANAGERS = ['m1', 'm2', 'm3'];
const WORKERS = ['w1', 'w2', 'w3'];
const HOSTS = [...MANAGERS, ...WORKERS];
const poll = { timeoutMs: 60_000, intervalMs: 500 };
/** Long enough for the first pull of the image from the lab registry on every worker. */
const pollFirstRun = { timeoutMs: 90_000, intervalMs: 500 };

/** Host name by node ID, from `node ls`. */
let hostOf = new Map<string, string>();

/** `service create --detach --name NAME --replicas N FLAGS… IMAGE` with a command that stops on TERM; its ID. */
async function create(service: string, replicas: number, ...flags: string[]): Promise<string> {
  const args = ['--name', service, '--replicas', String(replicas), ...flags, LAB_TEST_IMAGE, ...STOPS_ON_TERM];
  return (await ok('m1', 'service', 'create', '--detach', ...args)).trim().split('\n').at(-1)!;
}

const tasksOf = (serviceId: string) => serviceTasks(lab!, 'm2', serviceId);

/**
 * Whether `serviceId` runs exactly as `perHost` says — that many running tasks placed on each
 * host and no other, and on each host exactly the containers of those tasks running, no more.
 */
async function runsAs(serviceId: string, perHost: Record<string, number>): Promise<boolean> {
  const running = runningTasks(await tasksOf(serviceId));
  const byHostName = countBy(running, (t) => hostOf.get(t.NodeID ?? '') ?? '?');
  for (const host of HOSTS) if ((byHostName.get(host) ?? 0) !== (perHost[host] ?? 0)) return false;
  for (const host of HOSTS) {
    const want = running
      .filter((t) => hostOf.get(t.NodeID ?? '') === host)
      .map((t) => t.ID)
      .sort();
    const have = (await runningTaskContainers(lab!, host, serviceId)).sort();
    if (JSON.stringify(have) !== JSON.stringify(want)) return false;
  }
  return true;
}

/** No container of `serviceId` runs on any host (once the service is removed, its tasks can no longer be listed). */
async function containersGone(serviceId: string): Promise<boolean> {
  for (const host of HOSTS) if ((await runningTaskContainers(lab!, host, serviceId)).length > 0) return false;
  return true;
}

const onWorkers = (n: number) => Object.fromEntries(WORKERS.map((w) => [w, n]));

async function nodeMemoryBytes(host: string): Promise<number> {
  const [node] = JSON.parse(await ok('m1', 'node', 'inspect', host)) as {
    Description: { Resources: { MemoryBytes: number } };
  }[];
  return node!.Description.Resources.MemoryBytes;
}

/** The tasks meant to run that wait for a node, with the scheduler's reason. */
const pendingOf = (tasks: readonly TaskShape[]) =>
  tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'pending' && !t.NodeID);

describe('service placement: constraints, reservations, spread, unsatisfiable services, the Python SDK', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 3, workers: 3, registry: true, engineLabels: { w1: { disk: 'ssd' } } });
    await formSwarm(lab);
    hostOf = new Map(Object.values(await byHost('m1')).map((r) => [r.id, r.hostname]));
  }, 240_000);

  afterAll(async () => {
    await lab?.down();
  });

  it('node.role==worker: 6 replicas run 2 per worker and none on a manager; scaled to 12, 0 and 3', async () => {
    const id = await create('spread', 6, '--constraint', 'node.role==worker');
    await waitFor(() => runsAs(id, onWorkers(2)), { what: '6 tasks running, 2 per worker', ...pollFirstRun });
    const slots = runningTasks(await tasksOf(id)).map((t) => t.Slot);
    expect(slots.sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6]);

    expect(await ok('m1', 'service', 'scale', '--detach', 'spread=12')).toBe('spread scaled to 12\n');
    await waitFor(() => runsAs(id, onWorkers(4)), { what: '12 tasks running, 4 per worker', ...poll });

    await ok('m3', 'service', 'scale', '--detach', 'spread=0');
    // No task is meant to run, and no task container is left running on any host.
    await waitFor(
      async () => (await tasksOf(id)).every((t) => t.DesiredState !== 'running') && (await runsAs(id, onWorkers(0))),
      { what: 'spread at 0: no task meant to run, no container running', ...poll },
    );

    await ok('m1', 'service', 'scale', '--detach', 'spread=3');
    await waitFor(() => runsAs(id, onWorkers(1)), { what: '3 tasks running, 1 per worker', ...poll });
    expect(
      runningTasks(await tasksOf(id))
        .map((t) => t.Slot)
        .sort(),
    ).toEqual([1, 2, 3]);
    await ok('m1', 'service', 'rm', 'spread');
    await waitFor(() => containersGone(id), { what: "spread's containers gone", ...poll });
  }, 240_000);

  it('engine.labels.disk==ssd: every task on w1, the only node with that engine label', async () => {
    const id = await create('ssd', 3, '--constraint', 'engine.labels.disk==ssd');
    await waitFor(() => runsAs(id, { w1: 3 }), { what: 'ssd: 3 tasks running on w1', ...poll });
    await ok('m1', 'service', 'rm', 'ssd');
    await waitFor(() => containersGone(id), { what: "ssd's containers gone", ...poll });
  }, 120_000);

  it('a memory reservation that fits 2 tasks per worker: 6 run, the rest wait with the reason', async () => {
    const memory = await Promise.all(WORKERS.map(nodeMemoryBytes));
    // Two reservations fit in the smallest worker, three in none (the lab's hosts share one machine's memory).
    const reserve = Math.floor(Math.min(...memory) / 2);
    expect(memory.every((m) => 2 * reserve <= m && 3 * reserve > m)).toBe(true);
    const id = await create('mem', 8, '--constraint', 'node.role==worker', '--reserve-memory', String(reserve));
    await waitFor(async () => (await runsAs(id, onWorkers(2))) && pendingOf(await tasksOf(id)).length === 2, {
      what: 'mem: 2 tasks running per worker, 2 pending',
      ...poll,
    });
    const reason =
      'no suitable node (3 nodes not matching constraint node.role==worker; insufficient memory on 3 nodes)';
    expect(pendingOf(await tasksOf(id)).map((t) => t.Status.Err)).toEqual([reason, reason]);
    const table = await ok('m1', 'service', 'ps', 'mem');
    expect(table.match(/mem\.\d\s+\S+\s+Running\s+Pending .*no suitable node \(3 nodes not matching/g)).toHaveLength(2);

    // Freed memory is taken: scaled down to 6, the 2 waiting slots are the ones that go.
    await ok('m1', 'service', 'scale', '--detach', 'mem=6');
    await waitFor(async () => (await runsAs(id, onWorkers(2))) && pendingOf(await tasksOf(id)).length === 0, {
      what: 'mem at 6: the pending slots removed, the running ones kept',
      ...poll,
    });
    await ok('m1', 'service', 'rm', 'mem');
    await waitFor(() => containersGone(id), { what: "mem's containers gone", ...poll });
  }, 180_000);

  it('services no node can take stay pending, saying why, and run once a node qualifies', async () => {
    const memory = await Promise.all(HOSTS.map(nodeMemoryBytes));
    const eu = await create('eu', 2, '--constraint', 'node.labels.zone==eu');
    const huge = await create('huge', 1, '--reserve-memory', String(Math.max(...memory) + 1));
    const reasons = async (id: string) => pendingOf(await tasksOf(id)).map((t) => t.Status.Err);
    const euReason = 'no suitable node (6 nodes not matching constraint node.labels.zone==eu)';
    const hugeReason = 'no suitable node (insufficient memory on 6 nodes)';
    await waitFor(
      async () =>
        JSON.stringify(await reasons(eu)) === JSON.stringify([euReason, euReason]) &&
        JSON.stringify(await reasons(huge)) === JSON.stringify([hugeReason]),
      { what: 'eu and huge pending with the scheduler’s reasons', ...poll },
    );
    expect(await ok('m1', 'service', 'ps', 'huge')).toContain(`Pending`);
    expect(await ok('m1', 'service', 'ps', 'huge')).toContain(hugeReason);
    expect(await ok('m2', 'service', 'ls')).toMatch(/eu\s+replicated\s+0\/2\s/);
    for (const host of HOSTS) {
      expect(await runningTaskContainers(lab!, host, eu)).toEqual([]);
      expect(await runningTaskContainers(lab!, host, huge)).toEqual([]);
    }

    // A node that gets the label qualifies: both tasks go there; huge keeps waiting.
    await ok('m1', 'node', 'update', '--label-add', 'zone=eu', 'w2');
    await waitFor(() => runsAs(eu, { w2: 2 }), { what: 'eu: 2 tasks running on w2', ...poll });
    expect(await reasons(huge)).toEqual([hugeReason]);
    await ok('m1', 'service', 'rm', 'eu', 'huge');
    await waitFor(() => containersGone(eu), { what: "eu's containers gone", ...poll });
  }, 180_000);

  it('the Python docker SDK: services.create with a replicated ServiceMode, list, scale, tasks, remove', async () => {
    // Bounded waits inside the program: each loop gives up after 60 s with what it last saw.
    const program = `
import docker, json, time
client = docker.from_env()
def wait(want):
    deadline = time.time() + 60
    seen = None
    while time.time() < deadline:
        seen = len(running(service))
        if seen == want:
            return
        time.sleep(0.5)
    raise SystemExit('timed out waiting for %d running tasks of py (last seen: %d)' % (want, seen))
def running(service):
    return [t for t in service.tasks(filters={'desired-state': 'running'}) if t['Status']['State'] == 'running']
service = client.services.create(${JSON.stringify(LAB_TEST_IMAGE)}, command=${JSON.stringify(STOPS_ON_TERM)},
    name='py', mode=docker.types.ServiceMode('replicated', replicas=2))
listed = [s.name for s in client.services.list()]
wait(2)
service.reload()
replicas_created = service.attrs['Spec']['Mode']['Replicated']['Replicas']
scaled = service.scale(3)
wait(3)
service.reload()
replicas_scaled = service.attrs['Spec']['Mode']['Replicated']['Replicas']
print(json.dumps({'id': service.id, 'listed': listed, 'created': replicas_created, 'scaled': replicas_scaled,
    'slots': sorted(t['Slot'] for t in running(service)), 'nodes': sorted(t['NodeID'] for t in running(service))}))
`;
    const r = await dockerPy(lab!, 'm2', program, 180_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      id: string;
      listed: string[];
      created: number;
      scaled: number;
      slots: number[];
      nodes: string[];
    };
    expect(out).toMatchObject({ listed: ['py'], created: 2, scaled: 3, slots: [1, 2, 3] });
    // Real containers: one per running task, each on the node its task names.
    const perHost = Object.fromEntries([...countBy(out.nodes, (n) => hostOf.get(n) ?? '?')]);
    await waitFor(() => runsAs(out.id, perHost as Record<string, number>), {
      what: 'py’s 3 containers running where its tasks are',
      ...poll,
    });

    const removed = await dockerPy(
      lab!,
      'm3',
      `import docker; c = docker.from_env(); s = c.services.get('py'); print(s.remove()); print([x.name for x in c.services.list()])`,
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('True\n[]\n');
    await waitFor(() => containersGone(out.id), { what: "py's containers gone", ...poll });
  }, 240_000);
});
