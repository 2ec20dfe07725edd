import { describe, expect, it } from 'vitest';
import {
  NodeAvailability,
  NodeState,
  RestartCondition,
  TaskState,
  type Node,
  type Task,
} from '../../gen/tswarm/v1/objects.js';
import { SeededRandom } from '../../lib/random.js';
import { desiredToRun } from '../tasks/task-states.js';
import { globalService, node, task, type NodeOptions, type TaskOptions } from '../tasks/testing/objects.js';
import { applyPlan } from './apply.js';
import { planGlobal } from './global.js';
import { isEmptyPlan, type Plan } from './plan.js';

const nodes = (...list: Node[]) => new Map(list.map((n) => [n.id, n]));
const n = (id: string, o: Partial<NodeOptions> = {}) => node({ id, ...o });
const g = (id: string, nodeId: string, o: Partial<TaskOptions> = {}) =>
  task({ id, slot: 0, nodeId, serviceId: 'svc', ...o });
const LATER = 60_000;
const created = (plan: Plan) => plan.create.map((c) => c.nodeId).sort();

function applied(tasks: Task[], plan: Plan, nowMs: number, svc = globalService('svc')): Task[] {
  let i = 0;
  const r = applyPlan(svc, tasks, plan, { nowMs, newId: () => `new${nowMs}-${i++}` });
  const updated = new Map(r.updated.map((u) => [u.id, u]));
  return [...tasks.map((t) => updated.get(t.id) ?? t), ...r.created];
}

describe('planGlobal', () => {
  it('makes one task per ready, active node — named for its node, slot 0 — and nothing more once they exist', () => {
    const ns = nodes(n('a'), n('b'), n('c'));
    const plan = planGlobal({ service: globalService('svc'), tasks: [], nodes: ns, nowMs: LATER });
    expect(plan.create).toEqual(
      ['a', 'b', 'c'].map((nodeId) => ({ slot: 0, nodeId, replaces: '', countsAsAttempt: false })),
    );
    const tasks = applied([], plan, 1);
    expect(isEmptyPlan(planGlobal({ service: globalService('svc'), tasks, nodes: ns, nowMs: LATER }))).toBe(true);
  });

  it('follows the nodes: one joins, one is drained, one is paused, one stops matching, one is removed', () => {
    const svc = globalService('svc', { constraints: ['node.labels.tier==web'] });
    const web = { labels: { tier: 'web' } };
    const tasks = ['a', 'b', 'c', 'd'].map((id) => g(`t-${id}`, id, { constraints: ['node.labels.tier==web'] }));
    const ns = nodes(
      n('a', web),
      n('b', { ...web, availability: NodeAvailability.NODE_AVAILABILITY_DRAIN }),
      n('c', { ...web, availability: NodeAvailability.NODE_AVAILABILITY_PAUSE }),
      n('d', { labels: {} }), // its label was removed
      n('e', web), // joined
      n('f', { labels: { tier: 'db' } }), // never matched
    );
    const plan = planGlobal({ service: svc, tasks: [...tasks, g('t-gone', 'gone')], nodes: ns, nowMs: LATER });
    expect(created(plan)).toEqual(['e']);
    expect(plan.shutdown).toEqual([
      { taskId: 't-b', reason: 'node-drained' },
      { taskId: 't-d', reason: 'constraints-unmet' },
    ]);
    expect(plan.remove).toEqual([{ taskId: 't-gone', reason: 'node-removed' }]);
  });

  it('leaves the task of a node that is down where it is, and makes none for a node not ready', () => {
    const ns = nodes(n('a', { state: NodeState.NODE_STATE_DOWN }), n('b', { state: NodeState.NODE_STATE_UNKNOWN }));
    const plan = planGlobal({ service: globalService('svc'), tasks: [g('t-a', 'a')], nodes: ns, nowMs: LATER });
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('restarts a task that ended on its node, on that node, after the delay; a drained-then-active node gets one at once', () => {
    const ANY = RestartCondition.RESTART_CONDITION_ANY;
    const failed = g('t-a', 'a', { restart: ANY, state: TaskState.TASK_STATE_FAILED, stateAtMs: 1_000 });
    const svc = globalService('svc', { restart: ANY });
    const early = planGlobal({ service: svc, tasks: [failed], nodes: nodes(n('a')), nowMs: 2_000 });
    expect(isEmptyPlan(early)).toBe(true);
    expect(early.wakeAtMs).toBe(6_000);
    const due = planGlobal({ service: svc, tasks: [failed], nodes: nodes(n('a')), nowMs: 6_000 });
    expect(due.create).toEqual([{ slot: 0, nodeId: 'a', replaces: 't-a', countsAsAttempt: true }]);
    // Stopped by a drain (desired SHUTDOWN, observed SHUTDOWN), the node active again.
    const drained = g('t-a', 'a', {
      restart: ANY,
      desired: TaskState.TASK_STATE_SHUTDOWN,
      state: TaskState.TASK_STATE_SHUTDOWN,
      stateAtMs: 1_000,
    });
    expect(created(planGlobal({ service: svc, tasks: [drained], nodes: nodes(n('a')), nowMs: 1_001 }))).toEqual(['a']);
  });

  it('keeps one task meant to run per node and converges in one plan, over random histories', () => {
    const STATES = [TaskState.TASK_STATE_NEW, TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_FAILED];
    const AVAIL = [
      NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      NodeAvailability.NODE_AVAILABILITY_PAUSE,
      NodeAvailability.NODE_AVAILABILITY_DRAIN,
    ];
    for (let seed = 1; seed <= 200; seed++) {
      const random = new SeededRandom(seed);
      const ids = ['a', 'b', 'c', 'd', 'e'];
      const ns = nodes(...ids.slice(0, 1 + random.int(5)).map((id) => n(id, { availability: AVAIL[random.int(4)]! })));
      const tasks = Array.from({ length: random.int(10) }, (_, i) =>
        g(`t${i}`, ids[random.int(5)]!, {
          state: STATES[random.int(3)]!,
          desired: [TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_SHUTDOWN][random.int(2)]!,
          createdAtMs: random.int(100),
        }),
      );
      const after = applied(
        tasks,
        planGlobal({ service: globalService('svc'), tasks, nodes: ns, nowMs: LATER }),
        LATER,
      );
      const perNode = new Map<string, number>();
      for (const t of after.filter(desiredToRun)) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
      expect(
        [...perNode.values()].every((c) => c === 1),
        `seed ${seed}: one task per node`,
      ).toBe(true);
      for (const node of ns.values()) {
        const active = node.spec!.availability === NodeAvailability.NODE_AVAILABILITY_ACTIVE;
        if (active) expect(perNode.get(node.id), `seed ${seed}: a task on active node ${node.id}`).toBe(1);
        if (node.spec!.availability === NodeAvailability.NODE_AVAILABILITY_DRAIN)
          expect(perNode.get(node.id), `seed ${seed}: none on drained ${node.id}`).toBeUndefined();
      }
      const again = planGlobal({ service: globalService('svc'), tasks: after, nodes: ns, nowMs: LATER });
      expect(isEmptyPlan(again), `seed ${seed}: idempotent`).toBe(true);
    }
  });
});
