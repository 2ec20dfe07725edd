import { afterEach, describe, expect, it } from 'vitest';
import { ContainerSpec, NodeState, TaskState, type ServiceSpec, type Task } from '../../gen/tswarm/v1/objects.js';
import { NOOP_LOGGER } from '../../lib/logger.js';
import { waitFor } from '../../lib/poll.js';
import { createService, updateService } from '../controlapi/services.js';
import { schedulerLoop } from '../scheduler/scheduler-loop.js';
import { addCluster, addNode, testStore } from '../store/testing/test-store.js';
import type { Store } from '../store/store.js';
import { statusAfter } from '../tasks/task-states.js';
import { taskSpec } from '../tasks/testing/objects.js';
import { replicatedOrchestrator } from './replicated-loop.js';

/**
 * The orchestrator and scheduler loops together, over a real in-memory store (applied at once by
 * the test proposer) with a manual clock: what a leader does between `service create` and the
 * dispatcher.
 */

const running: AbortController[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.abort();
});

async function cluster(nodes = ['n1', 'n2', 'n3']) {
  const t = testStore();
  await addCluster(t.store);
  for (const id of nodes) await addNode(t.store, { id });
  const controller = new AbortController();
  running.push(controller);
  let next = 0;
  const parts = { store: t.store, clock: t.clock, log: NOOP_LOGGER };
  const loops = [
    replicatedOrchestrator({ ...parts, newId: () => `task${String(++next).padStart(4, '0')}` }),
    schedulerLoop(parts),
  ];
  for (const l of loops) l.start(controller.signal);
  return { ...t, loops };
}

function spec(name: string, replicas: number, extra: Parameters<typeof taskSpec>[0] = {}): ServiceSpec {
  const template = taskSpec(extra);
  return {
    annotations: { name, labels: {} },
    taskTemplate: { ...template, container: ContainerSpec.fromPartial({ image: 'busybox' }) },
    replicated: { replicas },
    updateConfig: undefined,
    rollbackConfig: undefined,
    endpoint: undefined,
  };
}

const meantToRun = (s: Store, serviceId: string): Task[] =>
  s.replica.tasksOfService(serviceId).filter((t) => t.desiredState === TaskState.TASK_STATE_RUNNING);

function perNode(tasks: Task[]): number[] {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.nodeId, (counts.get(t.nodeId) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

const settled = (what: string, probe: () => boolean) => waitFor(probe, { what, timeoutMs: 5_000, intervalMs: 5 });

describe('orchestrator and scheduler loops', () => {
  it('places 5 replicas on 3 nodes as 2/2/1, every task ASSIGNED with its node', async () => {
    const t = await cluster();
    const svc = await createService(t.store, spec('web', 5), 'req-1');
    await settled(
      '5 assigned tasks',
      () => meantToRun(t.store, svc.id).filter((x) => x.status?.state === TaskState.TASK_STATE_ASSIGNED).length === 5,
    );
    const tasks = meantToRun(t.store, svc.id);
    expect(tasks.map((x) => x.slot).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(perNode(tasks)).toEqual([2, 2, 1]);
    expect(tasks.every((x) => x.specVersion === 1 && x.serviceAnnotations?.name === 'web')).toBe(true);
    // The history shows each step, NEW → PENDING → ASSIGNED.
    expect(tasks[0]!.status!.history.map((h) => h.state)).toEqual([
      TaskState.TASK_STATE_NEW,
      TaskState.TASK_STATE_PENDING,
      TaskState.TASK_STATE_ASSIGNED,
    ]);
  });

  it('scales 5 down to 2: 3 tasks told to go (REMOVE), 2 kept, no new task made', async () => {
    const t = await cluster();
    const svc = await createService(t.store, spec('web', 5), 'req-1');
    await settled('5 tasks assigned', () => meantToRun(t.store, svc.id).filter((x) => x.nodeId !== '').length === 5);
    const read = t.store.get('service', svc.id)!;
    const scaled = await updateService(
      t.store,
      {
        serviceId: svc.id,
        serviceVersion: read.meta!.version,
        spec: { ...read.spec!, replicated: { replicas: 2 } },
        rollback: false,
      },
      'req-2',
    );
    expect(scaled.specVersion).toBe(2);
    await settled('2 tasks meant to run', () => meantToRun(t.store, svc.id).length === 2);
    const all = t.store.replica.tasksOfService(svc.id);
    // Assigned tasks stay until their node's agent reports them stopped (the reaper deletes them then).
    expect(all.filter((x) => x.desiredState === TaskState.TASK_STATE_REMOVE)).toHaveLength(3);
    expect(all).toHaveLength(5);
    // Kept balanced: the two left run on two different nodes.
    expect(perNode(meantToRun(t.store, svc.id))).toEqual([1, 1]);
  });

  it('replaces the tasks of a node that goes DOWN on the nodes still up', async () => {
    const t = await cluster();
    const svc = await createService(t.store, spec('web', 4), 'req-1');
    await settled('4 tasks assigned', () => meantToRun(t.store, svc.id).filter((x) => x.nodeId !== '').length === 4);
    const victim = meantToRun(t.store, svc.id)[0]!.nodeId;
    const lost = meantToRun(t.store, svc.id)
      .filter((x) => x.nodeId === victim)
      .map((x) => x.slot);
    await t.store.update((tx, s) => {
      const n = s.get('node', victim)!;
      tx.update('node', { ...n, status: { ...n.status!, state: NodeState.NODE_STATE_DOWN } });
    });
    await settled('4 tasks on live nodes', () => {
      const now = meantToRun(t.store, svc.id);
      return now.length === 4 && now.every((x) => x.nodeId !== '' && x.nodeId !== victim);
    });
    const onVictim = t.store.replica.tasksOfService(svc.id).filter((x) => x.nodeId === victim);
    expect(onVictim.every((x) => x.desiredState === TaskState.TASK_STATE_SHUTDOWN)).toBe(true);
    // Replacements take the same slots.
    expect(
      meantToRun(t.store, svc.id)
        .map((x) => x.slot)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    expect(lost.length).toBeGreaterThan(0);
  });

  it('leaves a task that fits nowhere PENDING, with the reason in status.err', async () => {
    const t = await cluster();
    const svc = await createService(t.store, spec('big', 1, { reserveMemoryBytes: 2 ** 45 }), 'req-1');
    await settled('a pending task with a reason', () => (meantToRun(t.store, svc.id)[0]?.status?.err ?? '') !== '');
    const [task] = meantToRun(t.store, svc.id);
    expect(task!.status!.state).toBe(TaskState.TASK_STATE_PENDING);
    expect(task!.nodeId).toBe('');
    expect(task!.status!.err).toBe('no suitable node (insufficient memory on 3 nodes)');
    // A node that fits joins: the task is placed there.
    await addNode(t.store, { id: 'big-node' });
    await t.store.update((tx, s) => {
      const n = s.get('node', 'big-node')!;
      n.description!.resources = { nanoCpus: 4e9, memoryBytes: 2 ** 46, pids: 0 };
      tx.update('node', n);
    });
    await settled('the task on big-node', () => meantToRun(t.store, svc.id)[0]?.nodeId === 'big-node');
    expect(meantToRun(t.store, svc.id)[0]!.status!.err).toBe('');
  });

  it('sends a removed service’s tasks to REMOVE and deletes those that never reached a node', async () => {
    const t = await cluster([]);
    const svc = await createService(t.store, spec('nowhere', 3), 'req-1');
    await settled('3 pending tasks', () => meantToRun(t.store, svc.id).filter((x) => x.status?.err).length === 3);
    await t.store.update((tx, s) => tx.remove('service', s.get('service', svc.id)!));
    await settled('no tasks left', () => t.store.replica.tasksOfService(svc.id).length === 0);
  });

  it("restarts a failed task after the policy's delay on the leader's clock, and keeps the slot's history within the limit", async () => {
    const t = await cluster(['n1']);
    await t.store.update((tx, s) => {
      const c = s.list('cluster')[0]!;
      tx.update('cluster', { ...c, spec: { ...c.spec!, orchestration: { taskHistoryRetentionLimit: 2 } } });
    });
    const svc = await createService(t.store, spec('flaky', 1), 'req-1');
    const fail = async () => {
      const [task] = meantToRun(t.store, svc.id);
      await t.store.update((tx) =>
        tx.update('task', {
          ...task!,
          status: statusAfter(task!.status, {
            state: TaskState.TASK_STATE_FAILED,
            atMs: t.clock.nowMs(),
            err: 'exit 1',
          }),
        }),
      );
      return task!.id;
    };
    await settled('the task assigned', () => meantToRun(t.store, svc.id)[0]?.nodeId === 'n1');
    const first = await fail();
    // Docker's default delay: nothing new until 5 s after the failure, by the leader's clock.
    t.clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(meantToRun(t.store, svc.id).map((x) => x.id)).toEqual([first]);
    t.clock.advance(1);
    await settled('a restart in slot 1', () => meantToRun(t.store, svc.id).some((x) => x.id !== first && x.slot === 1));
    expect(meantToRun(t.store, svc.id)).toHaveLength(1);
    expect(meantToRun(t.store, svc.id)[0]!.restartCount).toBe(1);
    for (let i = 0; i < 3; i++) {
      await settled('the restart assigned', () => meantToRun(t.store, svc.id)[0]?.nodeId === 'n1');
      const failed = await fail();
      t.clock.advance(5_000);
      await settled('the next restart', () => meantToRun(t.store, svc.id).some((x) => x.id !== failed));
    }
    // Four failures and restarts; the slot keeps 2 tasks: the one meant to run and the last failed.
    await settled('history reaped to 2', () => t.store.replica.tasksOfService(svc.id).length === 2);
    expect(meantToRun(t.store, svc.id)[0]!.restartCount).toBe(4);
  });

  it('reaps the history at once when the cluster’s limit is lowered, with no task changing', async () => {
    const t = await cluster(['n1']);
    const svc = await createService(t.store, spec('web', 1), 'req-1');
    // Three ended tasks in slot 1: the default limit (5) keeps them all.
    for (let i = 0; i < 3; i++) {
      await settled('the task assigned', () => meantToRun(t.store, svc.id)[0]?.nodeId === 'n1');
      const [task] = meantToRun(t.store, svc.id);
      await t.store.update((tx) =>
        tx.update('task', {
          ...task!,
          status: statusAfter(task!.status, { state: TaskState.TASK_STATE_FAILED, atMs: t.clock.nowMs(), err: '' }),
        }),
      );
      t.clock.advance(5_000);
      await settled('a restart', () => meantToRun(t.store, svc.id).some((x) => x.id !== task!.id));
    }
    await settled('4 tasks in the slot', () => t.store.replica.tasksOfService(svc.id).length === 4);
    // `swarm update --task-history-limit 1` writes only the cluster object: that alone must reap.
    await t.store.update((tx, s) => {
      const c = s.list('cluster')[0]!;
      tx.update('cluster', { ...c, spec: { ...c.spec!, orchestration: { taskHistoryRetentionLimit: 1 } } });
    });
    await settled('history reaped to 1', () => t.store.replica.tasksOfService(svc.id).length === 1);
    expect(meantToRun(t.store, svc.id)).toHaveLength(1);
  });

  it('is not woken by a starting task’s progress reports before RUNNING, and is by its end (which it replaces)', async () => {
    const t = await cluster();
    const svc = await createService(t.store, spec('web', 2), 'req-1');
    await settled('2 tasks assigned', () => meantToRun(t.store, svc.id).filter((x) => x.nodeId !== '').length === 2);
    const orchestrator = t.loops[0]!;
    const report = (taskId: string, state: TaskState) =>
      t.store.update((tx, s) => {
        const task = s.get('task', taskId)!;
        tx.update('task', { ...task, status: { ...task.status!, state } });
      });
    await new Promise((r) => setTimeout(r, 20));
    const roundsBefore = orchestrator.rounds;
    const [first, second] = meantToRun(t.store, svc.id);
    for (const state of [TaskState.TASK_STATE_PREPARING, TaskState.TASK_STATE_STARTING])
      for (const task of [first!, second!]) await report(task.id, state);
    await new Promise((r) => setTimeout(r, 50));
    expect(orchestrator.rounds).toBe(roundsBefore);
    await report(first!.id, TaskState.TASK_STATE_FAILED);
    // Docker's default restart delay, by the leader's clock.
    t.clock.advance(5_000);
    await settled('the failed task replaced in its slot', () =>
      meantToRun(t.store, svc.id).some((x) => x.slot === first!.slot && x.id !== first!.id),
    );
    expect(orchestrator.rounds).toBeGreaterThan(roundsBefore);
  });

  it('stops its rounds when leadership is lost', async () => {
    const t = await cluster();
    running[0]!.abort();
    await Promise.all(t.loops.map((l) => l.stop()));
    const svc = await createService(t.store, spec('web', 2), 'req-1');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.store.replica.tasksOfService(svc.id)).toHaveLength(0);
  });
});
