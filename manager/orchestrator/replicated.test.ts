import { describe, expect, it } from 'vitest';
import {
  NodeState,
  RestartCondition,
  TaskState,
  type Node,
  type Service,
  type Task,
} from '../../gen/tswarm/v1/objects.js';
import { SeededRandom } from '../../lib/random.js';
import { desiredToRun } from '../tasks/task-states.js';
import { node, service, task, type TaskOptions } from '../tasks/testing/objects.js';
import { applyPlan } from './apply.js';
import { isEmptyPlan, planRemoved, type Plan } from './plan.js';
import { planReplicated } from './replicated.js';

const RUNNING = TaskState.TASK_STATE_RUNNING;

function nodeMap(...nodes: Node[]): Map<string, Node> {
  return new Map(nodes.map((n) => [n.id, n]));
}

const up = (id: string) => node({ id });
const down = (id: string) => node({ id, state: NodeState.NODE_STATE_DOWN });

function t(id: string, slot: number, nodeId: string, extra: Partial<TaskOptions> = {}): Task {
  return task({ id, slot, nodeId, serviceId: 'svc', state: nodeId ? RUNNING : TaskState.TASK_STATE_PENDING, ...extra });
}

const slotsOf = (plan: Plan) => plan.create.map((c) => c.slot);
const ids = (stops: Plan['shutdown']) => stops.map((s) => s.taskId).sort();

/** Applies a plan as the orchestrator's loop would, stamping new tasks as the store does. */
function applied(svc: Service, tasks: Task[], plan: Plan, nowMs: number): Task[] {
  let n = 0;
  const result = applyPlan(svc, tasks, plan, { nowMs, newId: () => `new${nowMs}-${n++}` });
  const updated = new Map(result.updated.map((u) => [u.id, u]));
  const created = result.created.map((c) => ({
    ...c,
    meta: { id: c.id, version: nowMs, createdAtMs: nowMs, updatedAtMs: nowMs },
  }));
  return [...tasks.map((x) => updated.get(x.id) ?? x), ...created];
}

describe('planReplicated: scaling', () => {
  it('creates slots 1..N for a new service, and nothing once they exist', () => {
    const svc = service('svc', 3);
    const nodes = nodeMap(up('a'));
    const plan = planReplicated({ service: svc, tasks: [], nodes });
    expect(plan.create).toEqual([1, 2, 3].map((slot) => ({ slot, nodeId: '', replaces: '' })));
    const tasks = applied(svc, [], plan, 1);
    expect(tasks.map((x) => [x.slot, x.desiredState, x.specVersion])).toEqual([
      [1, RUNNING, 1],
      [2, RUNNING, 1],
      [3, RUNNING, 1],
    ]);
    expect(tasks[0]!.status).toMatchObject({ state: TaskState.TASK_STATE_NEW, timestampMs: 1, message: 'created' });
    expect(tasks[0]!.status!.history).toEqual([{ state: TaskState.TASK_STATE_NEW, atMs: 1 }]);
    expect(tasks[0]!.spec).toEqual(svc.spec!.taskTemplate);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks, nodes }))).toBe(true);
  });

  it('scales up into the lowest free slot numbers', () => {
    const tasks = [t('t1', 1, 'a'), t('t2', 2, 'a'), t('t4', 4, 'a')];
    const plan = planReplicated({ service: service('svc', 5), tasks, nodes: nodeMap(up('a')) });
    expect(slotsOf(plan)).toEqual([3, 5]);
    expect(plan.shutdown).toEqual([]);
  });

  it('scales down from the busiest nodes and the tasks not placed first, the highest slots among equals', () => {
    const tasks = [
      t('t1', 1, 'a'),
      t('t2', 2, 'a'),
      t('t3', 3, 'a'),
      t('t4', 4, 'a'),
      t('t5', 5, 'b'),
      t('t6', 6, ''), // still pending: removed first
    ];
    const plan = planReplicated({ service: service('svc', 3), tasks, nodes: nodeMap(up('a'), up('b')) });
    expect(plan.remove).toEqual([
      { taskId: 't3', reason: 'scaled-down' },
      { taskId: 't4', reason: 'scaled-down' },
      { taskId: 't6', reason: 'scaled-down' },
    ]);
    expect(plan.create).toEqual([]);
  });

  it('prefers removing a task that is not running yet over a running one', () => {
    const tasks = [t('t1', 1, 'a', { state: TaskState.TASK_STATE_STARTING }), t('t2', 2, 'b')];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a'), up('b')) });
    expect(ids(plan.remove)).toEqual(['t1']);
  });

  it('removes a slot whole, its stopped history included, and reuses no removed slot in the same plan', () => {
    const tasks = [
      t('old2', 2, 'a', { state: TaskState.TASK_STATE_FAILED, desired: TaskState.TASK_STATE_SHUTDOWN }),
      t('t1', 1, 'a'),
      t('t2', 2, 'b'),
    ];
    const svc = service('svc', 1);
    const nodes = nodeMap(up('a'), up('b'));
    const plan = planReplicated({ service: svc, tasks, nodes });
    expect(ids(plan.remove)).toEqual(['old2', 't2']);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: applied(svc, tasks, plan, 1), nodes }))).toBe(true);
  });
});

describe('planReplicated: replacing tasks', () => {
  it('replaces the task of a node that is down or gone in the same slot, and stops the old one', () => {
    const svc = service('svc', 3);
    const tasks = [t('t1', 1, 'a'), t('t2', 2, 'b'), t('t3', 3, 'gone')];
    const nodes = nodeMap(up('a'), down('b'));
    const plan = planReplicated({ service: svc, tasks, nodes });
    expect(plan.shutdown).toEqual([
      { taskId: 't2', reason: 'node-down' },
      { taskId: 't3', reason: 'node-down' },
    ]);
    expect(plan.create).toEqual([
      { slot: 2, nodeId: '', replaces: 't2' },
      { slot: 3, nodeId: '', replaces: 't3' },
    ]);
    const after = applied(svc, tasks, plan, 1);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes }))).toBe(true);
    // The node comes back with its stale task still running: nothing changes, it stays told to shut down.
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes: nodeMap(up('a'), up('b')) }))).toBe(true);
    expect(after.find((x) => x.id === 't2')!.desiredState).toBe(TaskState.TASK_STATE_SHUTDOWN);
  });

  it('replaces a failed task under the default restart policy', () => {
    const tasks = [t('t1', 1, 'a', { state: TaskState.TASK_STATE_FAILED })];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a')) });
    expect(plan.shutdown).toEqual([{ taskId: 't1', reason: 'restarted' }]);
    expect(plan.create).toEqual([{ slot: 1, nodeId: '', replaces: 't1' }]);
  });

  it('keeps a stopped task in its slot when the restart policy says not to replace it', () => {
    const svc = service('svc', 2);
    const nodes = nodeMap(up('a'));
    const tasks = [
      t('none', 1, 'a', { state: TaskState.TASK_STATE_FAILED, restart: RestartCondition.RESTART_CONDITION_NONE }),
      t('done', 2, 'a', {
        state: TaskState.TASK_STATE_COMPLETE,
        restart: RestartCondition.RESTART_CONDITION_ON_FAILURE,
      }),
    ];
    const plan = planReplicated({ service: svc, tasks, nodes });
    expect(plan.shutdown).toEqual([
      { taskId: 'none', reason: 'ended' },
      { taskId: 'done', reason: 'ended' },
    ]);
    expect(plan.create).toEqual([]);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: applied(svc, tasks, plan, 1), nodes }))).toBe(true);
  });

  it('fills a slot whose last task was stopped without a replacement when the policy restarts it', () => {
    const tasks = [t('t1', 1, 'a', { desired: TaskState.TASK_STATE_SHUTDOWN, state: TaskState.TASK_STATE_SHUTDOWN })];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a')) });
    expect(plan.create).toEqual([{ slot: 1, nodeId: '', replaces: '' }]);
    expect(plan.shutdown).toEqual([]);
  });

  it('keeps one task meant to run per slot: the running one', () => {
    const tasks = [
      t('new', 1, 'b', { state: TaskState.TASK_STATE_ASSIGNED, createdAtMs: 2 }),
      t('old', 1, 'a', { createdAtMs: 1 }),
    ];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a'), up('b')) });
    expect(plan.shutdown).toEqual([{ taskId: 'new', reason: 'duplicate' }]);
    expect(plan.create).toEqual([]);
  });
});

describe('planRemoved', () => {
  it('sends every task of a removed service to REMOVE, once', () => {
    const svc = service('svc', 2);
    const tasks = [t('t1', 1, 'a'), t('t2', 2, 'a', { desired: TaskState.TASK_STATE_SHUTDOWN })];
    const plan = planRemoved(tasks);
    expect(ids(plan.remove)).toEqual(['t1', 't2']);
    expect(isEmptyPlan(planRemoved(applied(svc, tasks, plan, 1)))).toBe(true);
  });
});

describe('planReplicated: invariants over random histories', () => {
  const STATES = [
    TaskState.TASK_STATE_NEW,
    TaskState.TASK_STATE_PENDING,
    TaskState.TASK_STATE_ASSIGNED,
    TaskState.TASK_STATE_STARTING,
    TaskState.TASK_STATE_RUNNING,
    TaskState.TASK_STATE_COMPLETE,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_SHUTDOWN,
  ];

  it('never leaves two tasks meant to run in a slot, keeps N live slots, and converges in one plan', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = new SeededRandom(seed);
      const nodeIds = ['a', 'b', 'c', 'd'];
      const nodes = nodeMap(...nodeIds.map((id) => (random.int(4) === 0 ? down(id) : up(id))));
      const tasks = Array.from({ length: random.int(15) }, (_, i) =>
        t(`t${i}`, 1 + random.int(8), random.int(5) === 0 ? '' : nodeIds[random.int(4)]!, {
          state: STATES[random.int(STATES.length)]!,
          desired: [RUNNING, RUNNING, TaskState.TASK_STATE_SHUTDOWN, TaskState.TASK_STATE_REMOVE][random.int(4)]!,
          createdAtMs: random.int(100),
        }),
      );
      const svc = service('svc', random.int(10));
      const after = applied(svc, tasks, planReplicated({ service: svc, tasks, nodes }), 1000);

      const meantToRun = new Map<number, number>();
      for (const x of after.filter(desiredToRun)) meantToRun.set(x.slot, (meantToRun.get(x.slot) ?? 0) + 1);
      expect(
        [...meantToRun.values()].every((n) => n === 1),
        `seed ${seed}: one task meant to run per slot`,
      ).toBe(true);
      // Under the default policy every live slot has a task meant to run, and there are N of them.
      expect(meantToRun.size, `seed ${seed}: replicas`).toBe(svc.spec!.replicated!.replicas);
      expect(isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes })), `seed ${seed}: idempotent`).toBe(true);
    }
  });
});
