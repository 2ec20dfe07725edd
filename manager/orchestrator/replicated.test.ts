import { describe, expect, it } from 'vitest';
import {
  NodeAvailability,
  NodeState,
  RestartCondition,
  TaskState,
  type Node,
  type Service,
  type Task,
} from '../../gen/tswarm/v1/objects.js';
import { SeededRandom } from '../../lib/random.js';
import { desiredToRun, observedState } from '../tasks/task-states.js';
import { node, service, task, type SpecOptions, type TaskOptions } from '../tasks/testing/objects.js';
import { applyPlan } from './apply.js';
import { isEmptyPlan, planRemoved, type Plan } from './plan.js';
import { planReplicated } from './replicated.js';

const RUNNING = TaskState.TASK_STATE_RUNNING;
/** A minute after every fixture task's end: any delayed restart is due. */
const LATER = 60_000;

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
    const plan = planReplicated({ service: svc, tasks: [], nodes, nowMs: LATER });
    expect(plan.create).toEqual([1, 2, 3].map((slot) => ({ slot, nodeId: '', replaces: '', countsAsAttempt: false })));
    const tasks = applied(svc, [], plan, 1);
    expect(tasks.map((x) => [x.slot, x.desiredState, x.specVersion])).toEqual([
      [1, RUNNING, 1],
      [2, RUNNING, 1],
      [3, RUNNING, 1],
    ]);
    expect(tasks[0]!.status).toMatchObject({ state: TaskState.TASK_STATE_NEW, timestampMs: 1, message: 'created' });
    expect(tasks[0]!.status!.history).toEqual([{ state: TaskState.TASK_STATE_NEW, atMs: 1 }]);
    expect(tasks[0]!.spec).toEqual(svc.spec!.taskTemplate);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks, nodes, nowMs: LATER }))).toBe(true);
  });

  it('scales up into the lowest free slot numbers', () => {
    const tasks = [t('t1', 1, 'a'), t('t2', 2, 'a'), t('t4', 4, 'a')];
    const plan = planReplicated({ service: service('svc', 5), tasks, nodes: nodeMap(up('a')), nowMs: LATER });
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
    const plan = planReplicated({ service: service('svc', 3), tasks, nodes: nodeMap(up('a'), up('b')), nowMs: LATER });
    expect(plan.remove).toEqual([
      { taskId: 't3', reason: 'scaled-down' },
      { taskId: 't4', reason: 'scaled-down' },
      { taskId: 't6', reason: 'scaled-down' },
    ]);
    expect(plan.create).toEqual([]);
  });

  it('prefers removing a task that is not running yet over a running one', () => {
    const tasks = [t('t1', 1, 'a', { state: TaskState.TASK_STATE_STARTING }), t('t2', 2, 'b')];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a'), up('b')), nowMs: LATER });
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
    const plan = planReplicated({ service: svc, tasks, nodes, nowMs: LATER });
    expect(ids(plan.remove)).toEqual(['old2', 't2']);
    expect(
      isEmptyPlan(planReplicated({ service: svc, tasks: applied(svc, tasks, plan, 1), nodes, nowMs: LATER })),
    ).toBe(true);
  });
});

describe('planReplicated: replacing tasks', () => {
  it('replaces the task of a node that is down or gone in the same slot, and stops the old one', () => {
    const svc = service('svc', 3);
    const tasks = [t('t1', 1, 'a'), t('t2', 2, 'b'), t('t3', 3, 'gone')];
    const nodes = nodeMap(up('a'), down('b'));
    const plan = planReplicated({ service: svc, tasks, nodes, nowMs: LATER });
    expect(plan.shutdown).toEqual([
      { taskId: 't2', reason: 'node-down' },
      { taskId: 't3', reason: 'node-down' },
    ]);
    expect(plan.create).toEqual([
      { slot: 2, nodeId: '', replaces: 't2', countsAsAttempt: false },
      { slot: 3, nodeId: '', replaces: 't3', countsAsAttempt: false },
    ]);
    const after = applied(svc, tasks, plan, 1);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes, nowMs: LATER }))).toBe(true);
    // The node comes back with its stale task still running: nothing changes, it stays told to shut down.
    expect(
      isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes: nodeMap(up('a'), up('b')), nowMs: LATER })),
    ).toBe(true);
    expect(after.find((x) => x.id === 't2')!.desiredState).toBe(TaskState.TASK_STATE_SHUTDOWN);
  });

  it('replaces a failed task under the default restart policy', () => {
    const tasks = [t('t1', 1, 'a', { state: TaskState.TASK_STATE_FAILED })];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a')), nowMs: LATER });
    expect(plan.shutdown).toEqual([{ taskId: 't1', reason: 'restarted' }]);
    expect(plan.create).toEqual([{ slot: 1, nodeId: '', replaces: 't1', countsAsAttempt: true }]);
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
    const plan = planReplicated({ service: svc, tasks, nodes, nowMs: LATER });
    expect(plan.shutdown).toEqual([
      { taskId: 'none', reason: 'ended' },
      { taskId: 'done', reason: 'ended' },
    ]);
    expect(plan.create).toEqual([]);
    expect(
      isEmptyPlan(planReplicated({ service: svc, tasks: applied(svc, tasks, plan, 1), nodes, nowMs: LATER })),
    ).toBe(true);
  });

  it('fills a slot whose last task was stopped without a replacement when the policy restarts it', () => {
    const tasks = [t('t1', 1, 'a', { desired: TaskState.TASK_STATE_SHUTDOWN, state: TaskState.TASK_STATE_SHUTDOWN })];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a')), nowMs: LATER });
    expect(plan.create).toEqual([{ slot: 1, nodeId: '', replaces: '', countsAsAttempt: false }]);
    expect(plan.shutdown).toEqual([]);
  });

  it('keeps one task meant to run per slot: the running one', () => {
    const tasks = [
      t('new', 1, 'b', { state: TaskState.TASK_STATE_ASSIGNED, createdAtMs: 2 }),
      t('old', 1, 'a', { createdAtMs: 1 }),
    ];
    const plan = planReplicated({ service: service('svc', 1), tasks, nodes: nodeMap(up('a'), up('b')), nowMs: LATER });
    expect(plan.shutdown).toEqual([{ taskId: 'new', reason: 'duplicate' }]);
    expect(plan.create).toEqual([]);
  });
});

describe('planReplicated: the restart policy', () => {
  const FAILED = TaskState.TASK_STATE_FAILED;
  const ANY = RestartCondition.RESTART_CONDITION_ANY;
  const svc = (o: SpecOptions = {}) => service('svc', 1, { restart: ANY, ...o });
  const failed = (o: Partial<TaskOptions> = {}) =>
    t('t1', 1, 'a', { restart: ANY, state: FAILED, stateAtMs: 1_000, ...o });
  const plan = (task: Task, nowMs: number) =>
    planReplicated({ service: svc(), tasks: [task], nodes: nodeMap(up('a')), nowMs });

  it("waits Docker's default 5 s after a task ends, then restarts its slot, and says when to wake", () => {
    const early = plan(failed(), 5_999);
    expect(isEmptyPlan(early)).toBe(true);
    expect(early.wakeAtMs).toBe(6_000);
    const due = plan(failed(), 6_000);
    expect(due.create).toEqual([{ slot: 1, nodeId: '', replaces: 't1', countsAsAttempt: true }]);
    expect(due.shutdown).toEqual([{ taskId: 't1', reason: 'restarted' }]);
  });

  it('waits the delay the policy gives, 0 for none', () => {
    expect(plan(failed({ restartDelayMs: 250 }), 1_100).wakeAtMs).toBe(1_250);
    expect(plan(failed({ restartDelayMs: 0 }), 1_000).create).toHaveLength(1);
  });

  it('moves a dead node’s task at once: the task did nothing wrong, and it is no attempt', () => {
    const p = planReplicated({
      service: svc(),
      tasks: [t('t1', 1, 'a', { restart: ANY, stateAtMs: 1_000 })],
      nodes: nodeMap(down('a')),
      nowMs: 1_001,
    });
    expect(p.create).toEqual([{ slot: 1, nodeId: '', replaces: 't1', countsAsAttempt: false }]);
  });

  it('stops after the maximum attempts, and stays stopped when asked again later', () => {
    const o = { restartDelayMs: 0, restartMaxAttempts: 2 };
    expect(plan(failed({ ...o, restartCount: 1 }), 2_000).create).toHaveLength(1);
    const gaveUp = plan(failed({ ...o, restartCount: 2 }), 2_000);
    expect(gaveUp.create).toEqual([]);
    expect(gaveUp.shutdown).toEqual([{ taskId: 't1', reason: 'ended' }]);
    const later = applied(svc(o), [failed({ ...o, restartCount: 2 })], gaveUp, 2_000);
    expect(
      isEmptyPlan(planReplicated({ service: svc(o), tasks: later, nodes: nodeMap(up('a')), nowMs: 10 ** 9 })),
    ).toBe(true);
  });

  it('counts only the attempts inside the window that closed when the task ended', () => {
    const o = { restartDelayMs: 0, restartMaxAttempts: 2, restartWindowMs: 10_000 };
    // Two restarts, one of them before the window: one attempt left.
    expect(
      plan(failed({ ...o, restartCount: 2, restartTimesMs: [500, 15_000], stateAtMs: 20_000 }), 20_000).create,
    ).toHaveLength(1);
    // Both inside: none left.
    expect(
      plan(failed({ ...o, restartCount: 2, restartTimesMs: [12_000, 15_000], stateAtMs: 20_000 }), 20_000).create,
    ).toEqual([]);
  });

  it('carries the slot’s restart history to the replacement, one attempt more, bounded to the maximum', () => {
    const o = { restartDelayMs: 0, restartMaxAttempts: 2, restartWindowMs: 60_000 };
    const old = failed({ ...o, restartCount: 1, restartTimesMs: [700] });
    const [, replacement] = applied(svc(o), [old], plan(old, 3_000), 3_000);
    expect(replacement).toMatchObject({ slot: 1, restartCount: 2, restartTimesMs: [700, 3_000] });
    const again = failed({ ...o, restartCount: 2, restartTimesMs: [700, 3_000], stateAtMs: 70_000 });
    const [, third] = applied(svc(o), [again], plan(again, 70_000), 70_000);
    expect(third).toMatchObject({ restartCount: 3, restartTimesMs: [3_000, 70_000] });
    // A move off a dead node carries the history as it is.
    const running = t('t1', 1, 'a', { ...o, restart: ANY, restartCount: 1, restartTimesMs: [700] });
    const nodes = nodeMap(down('a'));
    const [, moved] = applied(
      svc(o),
      [running],
      planReplicated({ service: svc(o), tasks: [running], nodes, nowMs: 3_000 }),
      3_000,
    );
    expect(moved).toMatchObject({ restartCount: 1, restartTimesMs: [700] });
  });

  it('on-failure restarts a failure, not a clean exit', () => {
    const o = { restart: RestartCondition.RESTART_CONDITION_ON_FAILURE, restartDelayMs: 0 };
    expect(plan(failed(o), 1_000).create).toHaveLength(1);
    expect(plan(failed({ ...o, state: TaskState.TASK_STATE_COMPLETE }), 1_000).create).toEqual([]);
  });
});

describe('planReplicated: nodes a task must leave (drain, constraints no longer met)', () => {
  const DRAIN = NodeAvailability.NODE_AVAILABILITY_DRAIN;

  it('replaces first: the drained node’s task runs on until its replacement runs, then stops', () => {
    const svc = service('svc', 1);
    const nodes = nodeMap(node({ id: 'a', availability: DRAIN }), up('b'));
    const old = t('old', 1, 'a');
    const first = planReplicated({ service: svc, tasks: [old], nodes, nowMs: LATER });
    expect(first.create).toEqual([{ slot: 1, nodeId: '', replaces: 'old', countsAsAttempt: false }]);
    expect(first.shutdown).toEqual([]);
    // The replacement is placed but not running yet: both stay.
    const starting = t('new', 1, 'b', { state: TaskState.TASK_STATE_STARTING, createdAtMs: 5 });
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: [old, starting], nodes, nowMs: LATER }))).toBe(true);
    // It runs: the old one stops, and nothing more is planned after.
    const running = t('new', 1, 'b', { createdAtMs: 5 });
    const done = planReplicated({ service: svc, tasks: [old, running], nodes, nowMs: LATER });
    expect(done.shutdown).toEqual([{ taskId: 'old', reason: 'node-drained' }]);
    expect(done.create).toEqual([]);
    const after = applied(svc, [old, running], done, 10);
    expect(isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes, nowMs: LATER }))).toBe(true);
  });

  it('stops the drained node’s task anyway when its replacement fits nowhere', () => {
    const svc = service('svc', 1);
    const nodes = nodeMap(node({ id: 'a', availability: DRAIN }));
    const pending = t('new', 1, '', { createdAtMs: 5 });
    pending.status!.err = 'no suitable node (1 node drained)';
    const plan = planReplicated({ service: svc, tasks: [t('old', 1, 'a'), pending], nodes, nowMs: LATER });
    expect(plan.shutdown).toEqual([{ taskId: 'old', reason: 'node-drained' }]);
  });

  it('moves a task whose node lost the label it is constrained to', () => {
    const svc = service('svc', 1, { constraints: ['node.labels.zone==eu'] });
    const nodes = nodeMap(node({ id: 'a', labels: {} }), node({ id: 'b', labels: { zone: 'eu' } }));
    const old = t('old', 1, 'a', { constraints: ['node.labels.zone==eu'] });
    const plan = planReplicated({ service: svc, tasks: [old], nodes, nowMs: LATER });
    expect(plan.create).toEqual([{ slot: 1, nodeId: '', replaces: 'old', countsAsAttempt: false }]);
    const running = t('new', 1, 'b', { constraints: ['node.labels.zone==eu'], createdAtMs: 5 });
    expect(planReplicated({ service: svc, tasks: [old, running], nodes, nowMs: LATER }).shutdown).toEqual([
      { taskId: 'old', reason: 'constraints-unmet' },
    ]);
  });

  it('with restart condition none, a drain stops the task and makes no other', () => {
    const none = { restart: RestartCondition.RESTART_CONDITION_NONE };
    const svc = service('svc', 1, none);
    const nodes = nodeMap(node({ id: 'a', availability: DRAIN }), up('b'));
    const plan = planReplicated({ service: svc, tasks: [t('old', 1, 'a', none)], nodes, nowMs: LATER });
    expect(plan.create).toEqual([]);
    expect(plan.shutdown).toEqual([{ taskId: 'old', reason: 'node-drained' }]);
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

  it('never leaves two tasks meant to run in a slot (but one leaving a drained node), keeps N live slots, and converges in one plan', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = new SeededRandom(seed);
      const nodeIds = ['a', 'b', 'c', 'd'];
      const drained = (id: string) => node({ id, availability: NodeAvailability.NODE_AVAILABILITY_DRAIN });
      const nodes = nodeMap(...nodeIds.map((id) => [down, drained, up, up, up, up][random.int(6)]!(id)));
      const tasks = Array.from({ length: random.int(15) }, (_, i) =>
        t(`t${i}`, 1 + random.int(8), random.int(5) === 0 ? '' : nodeIds[random.int(4)]!, {
          state: STATES[random.int(STATES.length)]!,
          desired: [RUNNING, RUNNING, TaskState.TASK_STATE_SHUTDOWN, TaskState.TASK_STATE_REMOVE][random.int(4)]!,
          createdAtMs: random.int(100),
        }),
      );
      const svc = service('svc', random.int(10));
      const after = applied(svc, tasks, planReplicated({ service: svc, tasks, nodes, nowMs: LATER }), 1000);

      // A task still running on a drained node waits for its replacement: it is the only second
      // task a slot may have meant to run.
      const onDrained = (x: Task) =>
        nodes.get(x.nodeId)?.spec?.availability === NodeAvailability.NODE_AVAILABILITY_DRAIN;
      const meantToRun = new Map<number, number>();
      const leaving = new Map<number, number>();
      for (const x of after.filter(desiredToRun)) {
        const counts = onDrained(x) && observedState(x) < TaskState.TASK_STATE_COMPLETE ? leaving : meantToRun;
        counts.set(x.slot, (counts.get(x.slot) ?? 0) + 1);
      }
      for (const [slot, n] of leaving) meantToRun.set(slot, Math.max(n, meantToRun.get(slot) ?? 0));
      expect(
        [...meantToRun.values()].every((n) => n === 1) && [...leaving.values()].every((n) => n === 1),
        `seed ${seed}: one task meant to run per slot, and at most one leaving a drained node`,
      ).toBe(true);
      // Under the default policy every live slot has a task meant to run, and there are N of them.
      expect(meantToRun.size, `seed ${seed}: replicas`).toBe(svc.spec!.replicated!.replicas);
      expect(
        isEmptyPlan(planReplicated({ service: svc, tasks: after, nodes, nowMs: LATER })),
        `seed ${seed}: idempotent`,
      ).toBe(true);
    }
  });
});
