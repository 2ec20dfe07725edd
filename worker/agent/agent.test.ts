import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/poll.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS, TlsMaterialProvider } from '../../lib/tls.js';
import {
  ContainerSpec,
  NodeAvailability,
  RestartCondition,
  TaskState,
  type Task,
} from '../../gen/tswarm/v1/objects.js';
import { service } from '../../manager/tasks/testing/objects.js';
import { Engine } from '../../engine/engine.js';
import { buildBusyboxImage } from '../../engine/image/busybox-image.js';
import { pushTestImage } from '../../engine/image/testing/test-images.js';
import { startTestRegistry, type TestRegistry } from '../../engine/image/testing/test-registry.js';
import { destroyTestEngine } from '../../engine/testing/test-engine.js';
import { randomPrefix } from '../../engine/testing/scratch.js';
import { Manager } from '../../manager/manager.js';
import { newCluster } from '../../manager/store/new-cluster.js';
import { describeNode } from '../node-description.js';
import { Agent } from './agent.js';
import { ControlServiceClient, type ServiceLogsResponse } from '../../gen/tswarm/v1/control.js';
import type { LogSubscriptionOptions } from '../../gen/tswarm/v1/logbroker.js';
import { LABEL_NODE_ID, LABEL_SERVICE_NAME, LABEL_TASK_ID } from './task-container.js';

/**
 * End to end on one host, with every real part: a manager (Raft, store, dispatcher) on 127.0.0.1
 * with mutual TLS, an engine running crun under conmon, a registry on loopback, and the agent
 * between them. Tasks are written into the manager's store directly, as the orchestrator will.
 */
let dir: string;
let registry: TestRegistry;
let engine: Engine;
let manager: Manager;
let tls: TlsMaterialProvider;
let nodeId: string;
let image: string;
const prefix = randomPrefix();
const agents: Agent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-agent-'));
  registry = await startTestRegistry();
  await buildBusyboxImage(join(dir, 'layout'), 'bb');
  await pushTestImage(join(dir, 'layout'), 'bb', registry.host, 'busybox', '1');
  image = `${registry.host}/test/busybox:1`;
  engine = await Engine.open({
    dataDir: join(dir, 'node'),
    namePrefix: prefix,
    insecureRegistries: [registry.host],
    log: silentLogger(),
    registry: { attemptsMax: 2, backoffBaseMs: 10, idleTimeoutMs: 5_000 },
  });
  const nc = await newCluster();
  nodeId = nc.nodeId;
  tls = new TlsMaterialProvider({
    caPem: nc.cluster.rootCa!.caCertPem.toString(),
    keyPem: nc.keyPem,
    certPem: nc.certPem,
  });
  manager = await Manager.start({
    dataDir: join(dir, 'node'),
    nodeId,
    clusterId: nc.cluster.id,
    tls,
    listenAddr: '127.0.0.1:0',
    advertiseAddr: '127.0.0.1:4242',
    mode: {
      kind: 'init',
      cluster: nc.cluster,
      hostname: 'm1',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    log: silentLogger(),
  });
}, 120_000);

afterAll(async () => {
  for (const a of agents) a.stop();
  await manager?.stop();
  await destroyTestEngine({ engine, registry, prefix, dir });
}, 120_000);

function startAgent(): Agent {
  const agent = new Agent({
    nodeId,
    engine,
    managers: () => [`127.0.0.1:${manager.boundPort}`],
    credentials: () => clientCredentials(tls),
    description: () => describeNode('m1'),
    clock: systemClock,
    log: silentLogger(),
  });
  agents.push(agent);
  agent.start();
  return agent;
}

function newTask(command: string[], fields: Partial<Task> = {}): Task {
  const id = newId();
  return {
    id,
    meta: undefined,
    spec: {
      container: ContainerSpec.fromPartial({ image, command, stopGracePeriodMs: 1_000 }),
      resources: undefined,
      restart: undefined,
      placement: undefined,
      networks: [],
      logDriver: undefined,
      forceUpdate: 0,
    },
    serviceId: `svc-${id}`,
    slot: 1,
    nodeId,
    annotations: undefined,
    serviceAnnotations: { name: 'web', labels: {} },
    status: undefined,
    desiredState: TaskState.TASK_STATE_RUNNING,
    networks: [],
    endpoint: undefined,
    specVersion: 0,
    restartCount: 0,
    restartTimesMs: [],
    ...fields,
  };
}

/**
 * Writes tasks as the orchestrator would have made them: each with a service of one replica that
 * never restarts (the leader's orchestrator shuts down tasks of services it does not know, and
 * replaces ended ones of services that restart).
 */
async function createTasks(...tasks: Task[]): Promise<void> {
  await manager.store.update((tx) => {
    for (const t of tasks) {
      tx.create('service', service(t.serviceId, 1, { restart: RestartCondition.RESTART_CONDITION_NONE }));
      tx.create('task', t);
    }
  });
}

const stateOf = (id: string) => manager.store.get('task', id)?.status?.state;
const containersOf = (taskId: string) => engine.containerList({ all: true, labels: { [LABEL_TASK_ID]: taskId } });
async function stateBecomes(id: string, state: TaskState): Promise<void> {
  await waitFor(() => stateOf(id) === state, {
    what: `task ${id} ${TaskState[state]} (now ${TaskState[stateOf(id) ?? 0]})`,
    timeoutMs: 30_000,
  });
}

describe('Agent with a real manager and engine', () => {
  it('runs an assigned task through to RUNNING in a container named and labelled as Docker Swarm’s', async () => {
    startAgent();
    const t = newTask(['sleep', '600']);
    await createTasks(t);
    await stateBecomes(t.id, TaskState.TASK_STATE_RUNNING);
    const [c] = containersOf(t.id);
    expect(c!.name).toBe(`web.1.${t.id}`);
    expect(c!.labels).toMatchObject({ [LABEL_NODE_ID]: nodeId, [LABEL_SERVICE_NAME]: 'web' });
    expect(c!.state!.status).toBe('running');
    expect(manager.store.get('task', t.id)!.status!.containerStatus!.containerId).toBe(c!.id);

    // Desired SHUTDOWN: stopped within its grace period, reported SHUTDOWN; removed from the store: container gone.
    await manager.store.update((tx, s) =>
      tx.update('task', { ...s.get('task', t.id)!, desiredState: TaskState.TASK_STATE_SHUTDOWN }),
    );
    await stateBecomes(t.id, TaskState.TASK_STATE_SHUTDOWN);
    expect(containersOf(t.id)[0]!.state!.status).toBe('exited');
    await manager.store.update((tx, s) => tx.remove('task', s.get('task', t.id)!));
    await waitFor(() => containersOf(t.id).length === 0, { what: 'the container removed', timeoutMs: 20_000 });
  });

  it('reports exits as Docker does, and a task whose image cannot be pulled as REJECTED with the reason', async () => {
    const ok = newTask(['true']);
    const bad = newTask(['sh', '-c', 'exit 3']);
    const missing = newTask(['true'], {
      spec: {
        ...newTask([]).spec!,
        container: ContainerSpec.fromPartial({ image: `${registry.host}/test/nope:1`, command: ['true'] }),
      },
    });
    await createTasks(ok, bad, missing);
    await stateBecomes(ok.id, TaskState.TASK_STATE_COMPLETE);
    await stateBecomes(bad.id, TaskState.TASK_STATE_FAILED);
    expect(manager.store.get('task', bad.id)!.status).toMatchObject({ err: 'task: non-zero exit (3)' });
    await stateBecomes(missing.id, TaskState.TASK_STATE_REJECTED);
    expect(manager.store.get('task', missing.id)!.status!.err).not.toBe('');
  });

  it('keeps containers running when the agent stops, and a new agent adopts them without a second container', async () => {
    const t = newTask(['sleep', '600']);
    await createTasks(t);
    await stateBecomes(t.id, TaskState.TASK_STATE_RUNNING);
    for (const a of agents) a.stop();
    await new Promise((r) => setTimeout(r, 500));
    expect(containersOf(t.id).map((c) => c.state!.status)).toEqual(['running']);
    const again = startAgent();
    await waitFor(() => again.assignedTasks().some((x) => x.id === t.id), {
      what: 'the new agent’s assignments',
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(containersOf(t.id).map((c) => c.state!.status)).toEqual(['running']);
    expect(stateOf(t.id)).toBe(TaskState.TASK_STATE_RUNNING);
  });

  it('publishes its tasks’ lines for `service logs`: the whole log, the tail, then lines as they come', async () => {
    for (const a of agents) a.stop();
    startAgent();
    const t = newTask([
      'sh',
      '-c',
      // Pauses between the streams: conmon reads stdout and stderr apart, and writes what it reads first.
      // Then quiet for a while (the whole log and its tail are read), then a line every 0.2 s.
      'echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; sleep 3; while sleep 0.2; do echo more; done',
    ]);
    await createTasks(t);
    await stateBecomes(t.id, TaskState.TASK_STATE_RUNNING);
    const control = new ControlServiceClient(
      `127.0.0.1:${manager.boundPort}`,
      clientCredentials(tls),
      MANAGER_CHANNEL_OPTIONS,
    );
    const logs = (options: Partial<LogSubscriptionOptions>, stopAfterLines = Infinity) =>
      new Promise<{ lines: string[]; warnings: string[] }>((resolve, reject) => {
        const got = { lines: [] as string[], warnings: [] as string[] };
        const stream = control.serviceLogs({
          selector: { serviceIds: [t.serviceId], taskIds: [] },
          options: { follow: false, sinceMs: 0, stdout: true, stderr: true, ...options },
        });
        stream.on('data', (m: ServiceLogsResponse) => {
          for (const l of m.lines) {
            expect([l.nodeId, l.taskId, l.serviceId]).toEqual([nodeId, t.id, t.serviceId]);
            got.lines.push(`${l.stream} ${l.data.toString().trim()}`);
          }
          got.warnings.push(...m.warnings.map((w) => w.reason));
          if (got.lines.length >= stopAfterLines) {
            stream.cancel();
            resolve(got);
          }
        });
        stream.on('end', () => resolve(got));
        stream.on('error', (err) => (got.lines.length >= stopAfterLines ? resolve(got) : reject(err)));
      });
    try {
      await waitFor(async () => (await logs({})).lines.length === 3, { what: 'the three lines', timeoutMs: 20_000 });
      expect(await logs({})).toEqual({ lines: ['stdout one', 'stderr two', 'stdout three'], warnings: [] });
      expect(await logs({ tail: 1 })).toEqual({ lines: ['stdout three'], warnings: [] });
      expect(await logs({ stderr: false })).toEqual({ lines: ['stdout one', 'stdout three'], warnings: [] });
      // Following: the tail, then the lines the task writes from now on.
      const followed = await logs({ follow: true, tail: 0 }, 2);
      expect(followed.lines).toEqual(['stdout more', 'stdout more']);
    } finally {
      control.close();
    }
  }, 60_000);
});
