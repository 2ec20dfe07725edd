import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';
import { collector } from '../../lib/testing/stream-collector.js';
import { AssignmentsType, type AssignmentsResponse, type SessionResponse } from '../../gen/tswarm/v1/dispatcher.js';
import { NodeState, TaskState, TaskStatus, type Task } from '../../gen/tswarm/v1/objects.js';
import type { Caller } from '../authz/authz.js';
import { addCluster, addNode, testStore, testTask } from '../store/testing/test-store.js';
import { Dispatcher } from './dispatcher.js';
import { ASSIGNMENT_WATCH_QUEUE_MAX } from './assignments-stream.js';
import { MISSED_HEARTBEATS_MAX } from './heartbeats.js';
import { STATUS_BATCH_SIZE_MAX, STATUS_FLUSH_INTERVAL_MS, STATUS_UPDATES_PER_CALL_MAX } from './status-intake.js';

const node = (nodeId: string): Caller => ({ kind: 'node', nodeId, role: 'worker' });

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

async function setup() {
  const t = testStore(10_000);
  await addCluster(t.store);
  await addNode(t.store, { id: 'm1', role: 'manager', managerAddr: '10.0.0.1:2377' });
  await addNode(t.store, { id: 'w1' });
  await addNode(t.store, { id: 'w2' });
  const dispatcher = new Dispatcher({
    nodeId: 'm1',
    store: t.store,
    clock: t.clock,
    log: silentLogger(),
    rootCaPem: () => 'the CA',
  });
  /** Opens a session for `nodeId`; resolves with its ID, and the session's settled outcome. */
  const openSession = async (nodeId: string) => {
    const c = collector<SessionResponse>();
    const outcome = dispatcher.session({ description: undefined, sessionId: '' }, node(nodeId), c.sink).then(
      () => 'ended',
      (e: unknown) => e as Error,
    );
    await until('the session message', () => c.messages.length === 1);
    return { id: c.messages[0]!.sessionId, first: c.messages[0]!, outcome, hangUp: c.hangUp };
  };
  const openAssignments = (nodeId: string, sessionId: string) => {
    const c = collector<AssignmentsResponse>();
    const outcome = dispatcher.assignments({ sessionId }, node(nodeId), c.sink).then(
      () => 'ended',
      (e: unknown) => e as Error,
    );
    return { ...c, outcome };
  };
  return { ...t, dispatcher, openSession, openAssignments };
}

const status = (state: TaskState, extra: Partial<TaskStatus> = {}): TaskStatus => ({
  timestampMs: 1,
  state,
  message: '',
  err: '',
  containerStatus: undefined,
  portStatus: undefined,
  history: [],
  ...extra,
});

async function addTask(t: Awaited<ReturnType<typeof setup>>, task: Task): Promise<void> {
  await t.store.update((tx) => tx.create('task', task));
}

describe('Dispatcher sessions', () => {
  it('opens a session naming the managers, the period, the node’s spec and the root CA', async () => {
    const t = await setup();
    const s = await t.openSession('w1');
    expect(s.id).toMatch(/^[0-9a-z]{25}$/);
    expect(s.first.managers).toEqual([{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }]);
    expect(s.first.heartbeatPeriodMs).toBe(1_000);
    expect(s.first.nodeSpec).toEqual(t.replica.get('node', 'w1')!.spec);
    expect(Buffer.from(s.first.rootCaPem).toString()).toBe('the CA');
    s.hangUp();
    expect(await s.outcome).toBe('ended');
  });

  it('a second session of the same node replaces the first, whose streams end saying so', async () => {
    const t = await setup();
    const first = await t.openSession('w1');
    const a = t.openAssignments('w1', first.id);
    const second = await t.openSession('w1');
    const ended = (await first.outcome) as Error;
    expect(ended.message).toMatch(/was replaced by a newer session of the same node/);
    expect(await rejectedCode(Promise.reject(ended))).toBe('CONFLICT');
    expect(((await a.outcome) as Error).message).toMatch(/replaced/);
    // The old ID is refused from now on; the new one works.
    expect(await rejectedCode(t.dispatcher.assignments({ sessionId: first.id }, node('w1'), a.sink))).toBe('NOT_FOUND');
    const b = t.openAssignments('w1', second.id);
    await until('the complete set', () => b.messages.length === 1);
    b.hangUp();
    second.hangUp();
  });

  it('refuses another node’s session ID and a caller without a certificate', async () => {
    const t = await setup();
    const s = await t.openSession('w1');
    const c = collector<AssignmentsResponse>();
    expect(await rejectedCode(t.dispatcher.assignments({ sessionId: s.id }, node('w2'), c.sink))).toBe('NOT_FOUND');
    expect(
      await rejectedCode(
        t.dispatcher.session({ description: undefined, sessionId: '' }, { kind: 'anonymous' }, c.sink as never),
      ),
    ).toBe('UNAUTHENTICATED');
    s.hangUp();
  });

  it('counts a new session as a sign of life: a daemon back within the deadline is not marked DOWN before its first beat', async () => {
    const t = await setup();
    const state = () => t.replica.get('node', 'w1')?.status?.state;
    const beat = { sessionId: '', description: undefined, trustRootDigest: '' };
    await t.dispatcher.heartbeat(beat, node('w1'));
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(state()).toBe(NodeState.NODE_STATE_READY);
    // Its daemon restarts: silent for most of the deadline, then a new session, then the deadline
    // since the last beat passes before the new daemon's first beat.
    t.clock.advance((MISSED_HEARTBEATS_MAX - 1) * 1_000);
    const s = await t.openSession('w1');
    t.clock.advance(2 * 1_000);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(state()).toBe(NodeState.NODE_STATE_READY);
    // Without beats after it, the session alone keeps it alive no longer than a beat would.
    t.clock.advance(MISSED_HEARTBEATS_MAX * 1_000);
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(state()).toBe(NodeState.NODE_STATE_DOWN);
    // A DOWN node that opens a session is READY again at the next liveness round.
    const again = await t.openSession('w1');
    await t.dispatcher.markLiveness(t.replica.list('node'));
    expect(state()).toBe(NodeState.NODE_STATE_READY);
    s.hangUp();
    again.hangUp();
  });

  it('ends every session when leadership is lost, so workers reconnect to the new leader', async () => {
    const t = await setup();
    const s = await t.openSession('w1');
    const a = t.openAssignments('w1', s.id);
    t.dispatcher.stopLeading();
    expect(((await s.outcome) as Error).message).toMatch(/no longer leads/);
    expect(((await a.outcome) as Error).message).toMatch(/no longer leads/);
  });
});

describe('Dispatcher assignments', () => {
  it('streams the complete set, then each change of the node’s tasks, and nothing of other nodes', async () => {
    const t = await setup();
    await addTask(t, testTask('t1', 's1', 'w1'));
    await addTask(t, testTask('other', 's1', 'w2'));
    await addTask(t, {
      ...testTask('pending', 's1', 'w1'),
      status: TaskStatus.fromPartial({ state: TaskState.TASK_STATE_PENDING }),
    });
    const s = await t.openSession('w1');
    const a = t.openAssignments('w1', s.id);
    await until('the complete set', () => a.messages.length === 1);
    expect(a.messages[0]).toMatchObject({ type: AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE, sequence: 1 });
    expect(a.messages[0]!.updatedTasks.map((x) => x.id)).toEqual(['t1']);

    await addTask(t, testTask('t2', 's1', 'w1'));
    await addTask(t, testTask('other2', 's1', 'w2'));
    await until('the new task', () => a.messages.length === 2);
    expect(a.messages[1]).toMatchObject({ type: AssignmentsType.ASSIGNMENTS_TYPE_INCREMENTAL, sequence: 2 });
    expect(a.messages[1]!.updatedTasks.map((x) => x.id)).toEqual(['t2']);

    await t.store.update((tx, st) => tx.remove('task', st.get('task', 't1')!));
    await until('the removal', () => a.messages.length === 3);
    expect(a.messages[2]!.removedTaskIds).toEqual(['t1']);
    a.hangUp();
    expect(await a.outcome).toBe('ended');
    s.hangUp();
  });

  it('a reader that falls behind gets a fresh complete set instead of losing its stream', async () => {
    const t = await setup();
    await addTask(t, testTask('t0', 's1', 'w1'));
    const s = await t.openSession('w1');
    const a = t.openAssignments('w1', s.id);
    await until('the complete set', () => a.messages.length === 1);
    const release = a.stall();
    await addTask(t, testTask('t1', 's1', 'w1')); // taken by the stream, whose write now waits
    await tick();
    for (let i = 2; i <= ASSIGNMENT_WATCH_QUEUE_MAX + 2; i++) await addTask(t, testTask(`t${i}`, 's1', 'w1'));
    release();
    await until('a second complete set', () =>
      a.messages.some((m, i) => i > 0 && m.type === AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE),
    );
    const resync = a.messages.find((m, i) => i > 0 && m.type === AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE)!;
    expect(resync.updatedTasks).toHaveLength(t.replica.tasksOfNode('w1').length);
    // The sequence keeps rising across the resync: the worker can tell the order of what it got.
    const seqs = a.messages.map((m) => Number(m.sequence));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    a.hangUp();
    s.hangUp();
  });
});

describe('Dispatcher task status', () => {
  async function withTasks() {
    const t = await setup();
    await addTask(t, testTask('t1', 's1', 'w1'));
    await addTask(t, testTask('t2', 's1', 'w1'));
    await addTask(t, testTask('theirs', 's1', 'w2'));
    const s = await t.openSession('w1');
    const update = (taskId: string, st: TaskStatus, sessionId = s.id, who = 'w1') =>
      t.dispatcher.updateTaskStatus({ sessionId, updates: [{ taskId, status: st }] }, node(who));
    const stateOf = (id: string) => t.replica.get('task', id)!.status?.state;
    return { ...t, s, update, stateOf };
  }

  it('writes the statuses of several calls in one transaction after the flush interval, then settles the calls', async () => {
    const t = await withTasks();
    const version = t.replica.version;
    const calls = [
      t.update('t1', status(TaskState.TASK_STATE_RUNNING)),
      t.update('t2', status(TaskState.TASK_STATE_PREPARING)),
    ];
    await tick();
    expect(t.replica.version).toBe(version);
    t.clock.advance(STATUS_FLUSH_INTERVAL_MS);
    await Promise.all(calls);
    expect(t.replica.version).toBe(version + 1);
    expect(t.stateOf('t1')).toBe(TaskState.TASK_STATE_RUNNING);
    expect(t.stateOf('t2')).toBe(TaskState.TASK_STATE_PREPARING);
    t.s.hangUp();
  });

  it('keeps a task’s state from moving backwards', async () => {
    const t = await withTasks();
    const done = t.update('t1', status(TaskState.TASK_STATE_FAILED, { err: 'task: non-zero exit (1)' }));
    t.clock.advance(STATUS_FLUSH_INTERVAL_MS);
    await done;
    const late = t.update('t1', status(TaskState.TASK_STATE_RUNNING));
    t.clock.advance(STATUS_FLUSH_INTERVAL_MS);
    await late;
    expect(t.replica.get('task', 't1')!.status).toMatchObject({
      state: TaskState.TASK_STATE_FAILED,
      err: 'task: non-zero exit (1)',
    });
    t.s.hangUp();
  });

  it('refuses updates to another node’s task, from a stale session, and beyond the bounds', async () => {
    const t = await withTasks();
    expect(await rejectedCode(t.update('theirs', status(TaskState.TASK_STATE_RUNNING)))).toBe('PERMISSION_DENIED');
    expect(await rejectedCode(t.update('t1', status(TaskState.TASK_STATE_RUNNING), 'stale'))).toBe('NOT_FOUND');
    expect(await rejectedCode(t.update('t1', status(TaskState.TASK_STATE_PENDING)))).toBe('INVALID_ARGUMENT');
    expect(await rejectedCode(t.update('t1', status(TaskState.TASK_STATE_FAILED, { err: 'x'.repeat(5_000) })))).toBe(
      'INVALID_ARGUMENT',
    );
    const many = Array.from({ length: STATUS_UPDATES_PER_CALL_MAX + 1 }, () => ({
      taskId: 't1',
      status: status(TaskState.TASK_STATE_RUNNING),
    }));
    expect(await rejectedCode(t.dispatcher.updateTaskStatus({ sessionId: t.s.id, updates: many }, node('w1')))).toBe(
      'INVALID_ARGUMENT',
    );
    t.clock.advance(STATUS_FLUSH_INTERVAL_MS);
    // Both still as the scheduler left them.
    expect(t.stateOf('t1')).toBe(TaskState.TASK_STATE_ASSIGNED);
    expect(t.stateOf('theirs')).toBe(TaskState.TASK_STATE_ASSIGNED);
    t.s.hangUp();
  });

  it(`writes at most ${STATUS_BATCH_SIZE_MAX} tasks per transaction`, async () => {
    const t = await setup();
    const n = STATUS_BATCH_SIZE_MAX + 10;
    await t.store.update((tx) => {
      for (let i = 0; i < n; i++) tx.create('task', testTask(`t${i}`, 's1', 'w1'));
    });
    const s = await t.openSession('w1');
    const updates = Array.from({ length: n }, (_, i) => ({
      taskId: `t${i}`,
      status: status(TaskState.TASK_STATE_RUNNING),
    }));
    const version = t.replica.version;
    const done = t.dispatcher.updateTaskStatus({ sessionId: s.id, updates }, node('w1'));
    for (let i = 0; i < 4; i++) {
      t.clock.advance(STATUS_FLUSH_INTERVAL_MS);
      for (let j = 0; j < 10; j++) await tick(); // the batch's write settles, then the next is scheduled
    }
    await done;
    expect(t.replica.version).toBe(version + 2);
    expect(t.replica.list('task').every((x) => x.status?.state === TaskState.TASK_STATE_RUNNING)).toBe(true);
    s.hangUp();
  });
});
