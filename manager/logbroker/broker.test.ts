import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { rejectedCode } from '../../lib/testing/error-codes.js';
import { collector } from '../../lib/testing/stream-collector.js';
import { NodeState, TaskState, type LogLine, type Node, type Task } from '../../gen/tswarm/v1/objects.js';
import type { ListenSubscriptionsResponse, PublishLogsRequest } from '../../gen/tswarm/v1/logbroker.js';
import type { ServiceLogsRequest, ServiceLogsResponse } from '../../gen/tswarm/v1/control.js';
import { node, task } from '../tasks/testing/objects.js';
import { LogBroker, LOG_SWEEP_EVERY_MS } from './broker.js';
import { LOG_ANSWER_BOUND_MS } from './subscription.js';

/** A node's PublishLogs stream, fed by the test. */
function publishStream() {
  const queue: PublishLogsRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<PublishLogsRequest> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return {
    iterable,
    push: (m: Partial<PublishLogsRequest> & { subscriptionId: string }) => {
      queue.push({ lines: [], close: false, ...m });
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

function line(nodeId: string, taskId: string, text: string): LogLine {
  return { timestampMs: 1, stream: 'stdout', data: Buffer.from(text + '\n'), nodeId, taskId, serviceId: '' };
}

function setup() {
  const clock = new ManualClock(0);
  const nodes = new Map<string, Node>();
  for (const id of ['n1', 'n2', 'n3']) nodes.set(id, node({ id, hostname: `host-${id}` }));
  const tasks: Task[] = [
    task({ id: 't1', serviceId: 'web', nodeId: 'n1' }),
    task({ id: 't2', serviceId: 'web', nodeId: 'n2' }),
    task({ id: 't9', serviceId: 'db', nodeId: 'n1' }),
  ];
  const broker = new LogBroker({
    store: {
      tasksOfService: (id) => tasks.filter((t) => t.serviceId === id),
      task: (id) => tasks.find((t) => t.id === id),
      node: (id) => nodes.get(id),
    },
    clock,
    log: silentLogger(),
  });
  const listen = (nodeId: string) => {
    const c = collector<ListenSubscriptionsResponse>();
    const session = new AbortController();
    const done = broker.listen(nodeId, session.signal, c.sink);
    return { ...c, endSession: () => session.abort(), done };
  };
  const subscribe = (follow = false, selector = { serviceIds: ['web'], taskIds: [] as string[] }) => {
    const c = collector<ServiceLogsResponse>();
    const req: ServiceLogsRequest = { selector, options: { follow, sinceMs: 0, stdout: true, stderr: true } };
    const done = broker.subscribe(req, c.sink);
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    return {
      ...c,
      done,
      settled: () => settled,
      lines: () => c.messages.flatMap((m) => m.lines.map((l) => l.data.toString().trim())),
      warnings: () => c.messages.flatMap((m) => m.warnings.map((w) => `${w.hostname} ${w.reason}`)),
    };
  };
  /** Moves time on in sweeps, letting the broker's loops run between them. */
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += LOG_SWEEP_EVERY_MS) {
      clock.advance(Math.min(LOG_SWEEP_EVERY_MS, ms - t));
      await settle();
    }
  };
  /** A node's PublishLogs stream with one message for its listener's latest subscription. */
  const publishOnce = (
    nodeId: string,
    l: { messages: ListenSubscriptionsResponse[] },
    m: Partial<PublishLogsRequest>,
  ) => {
    const p = publishStream();
    const result = broker.publish(nodeId, p.iterable);
    p.push({ subscriptionId: l.messages.at(-1)!.subscriptionId, ...m });
    return result;
  };
  return { broker, clock, nodes, tasks, listen, subscribe, advance, publishOnce };
}

describe('LogBroker', () => {
  it('asks each node that holds a task, merges their lines, and ends once every node has closed', async () => {
    const { broker, listen, subscribe } = setup();
    const l1 = listen('n1');
    const l2 = listen('n2');
    const l3 = listen('n3');
    const reader = subscribe();
    await settle();
    const id = l1.messages[0]!.subscriptionId;
    expect(l2.messages.map((m) => m.subscriptionId)).toEqual([id]);
    expect(l3.messages).toEqual([]); // n3 holds no task of web
    const p1 = publishStream();
    const p2 = publishStream();
    const r1 = broker.publish('n1', p1.iterable);
    const r2 = broker.publish('n2', p2.iterable);
    p1.push({ subscriptionId: id, lines: [line('n1', 't1', 'one')] });
    p2.push({ subscriptionId: id, lines: [line('n2', 't2', 'two')], close: true });
    await settle();
    expect(reader.settled()).toBe(false);
    p1.push({ subscriptionId: id, close: true });
    await reader.done;
    await Promise.all([r1, r2]);
    expect(reader.lines().sort()).toEqual(['one', 'two']);
    expect(reader.warnings()).toEqual([]);
    // The service ID is the store's, whatever the node wrote.
    expect(reader.messages.flatMap((m) => m.lines.map((l) => l.serviceId))).toEqual(['web', 'web']);
  });

  it('a node without a session is named at once; the others are not waited on for it', async () => {
    const { listen, subscribe, publishOnce } = setup();
    const l1 = listen('n1');
    const reader = subscribe();
    await settle();
    void publishOnce('n1', l1, { close: true });
    await reader.done;
    expect(reader.warnings()).toEqual(['host-n2 has no session with the managers (it is down, restarting or cut off)']);
  });

  it('a node marked DOWN is named, even with a listener open', async () => {
    const { nodes, listen, subscribe, publishOnce } = setup();
    nodes.set('n2', node({ id: 'n2', hostname: 'host-n2', state: NodeState.NODE_STATE_DOWN }));
    const l1 = listen('n1');
    listen('n2');
    const reader = subscribe();
    await settle();
    void publishOnce('n1', l1, { close: true });
    await reader.done;
    expect(reader.warnings()).toEqual(['host-n2 is down']);
  });

  it('a node that never answers: the call ends within the bound and names it (moby#38640)', async () => {
    const { listen, subscribe, advance, clock, publishOnce } = setup();
    const l1 = listen('n1');
    listen('n2'); // open, but its node never publishes: a machine gone without a word
    const reader = subscribe();
    await settle();
    void publishOnce('n1', l1, { lines: [line('n1', 't1', 'hi')], close: true });
    await advance(LOG_ANSWER_BOUND_MS - LOG_SWEEP_EVERY_MS);
    expect(reader.settled()).toBe(false);
    await advance(2 * LOG_SWEEP_EVERY_MS);
    expect(reader.settled()).toBe(true);
    expect(clock.nowMs()).toBeLessThanOrEqual(LOG_ANSWER_BOUND_MS + LOG_SWEEP_EVERY_MS);
    expect(reader.lines()).toEqual(['hi']);
    expect(reader.warnings()).toEqual(['host-n2 did not answer within 5 s']);
  });

  it('a node that disconnects while owing lines is named at once', async () => {
    const { listen, subscribe, publishOnce } = setup();
    const l1 = listen('n1');
    const l2 = listen('n2');
    const reader = subscribe();
    await settle();
    l2.endSession();
    void publishOnce('n1', l1, { close: true });
    await reader.done;
    expect(reader.warnings()).toEqual(['host-n2 disconnected from the managers']);
  });

  it('a slow reader holds the nodes back without losing them: their silence is the reader’s', async () => {
    const { broker, listen, subscribe, advance } = setup();
    const l1 = listen('n1');
    const reader = subscribe(false, { serviceIds: ['db'], taskIds: [] });
    await settle();
    const release = reader.stall();
    const p1 = publishStream();
    void broker.publish('n1', p1.iterable);
    const id = l1.messages[0]!.subscriptionId;
    p1.push({ subscriptionId: id, lines: [line('n1', 't9', 'a')] });
    p1.push({ subscriptionId: id, lines: [line('n1', 't9', 'b')], close: true });
    await advance(4 * LOG_ANSWER_BOUND_MS);
    expect(reader.settled()).toBe(false);
    release();
    await reader.done;
    expect(reader.lines()).toEqual(['a', 'b']);
    expect(reader.warnings()).toEqual([]);
  });

  it('refuses lines a node may not publish: another node’s, a task not its own, a task not selected', async () => {
    const { broker, listen, subscribe } = setup();
    const l1 = listen('n1');
    listen('n2');
    // Each attempt on a subscription of its own: a node refused once is named missing there.
    const attempt = async (lines: LogLine[]) => {
      const reader = subscribe();
      await settle();
      const p = publishStream();
      const result = broker.publish('n1', p.iterable);
      p.push({ subscriptionId: l1.messages.at(-1)!.subscriptionId, lines });
      p.end();
      const code = await rejectedCode(result);
      reader.hangUp();
      await reader.done;
      return code;
    };
    expect(await attempt([line('n2', 't2', 'as another node')])).toBe('PERMISSION_DENIED');
    expect(await attempt([line('n1', 't2', 'a task on n2')])).toBe('PERMISSION_DENIED');
    expect(await attempt([line('n1', 't9', 'a task of db')])).toBe('PERMISSION_DENIED');
    const reader = subscribe();
    await settle();
    const unknown = publishStream();
    const result = broker.publish('n3', unknown.iterable);
    unknown.push({ subscriptionId: 'not-a-subscription' });
    expect(await rejectedCode(result)).toBe('NOT_FOUND');
    const notAsked = publishStream();
    const r3 = broker.publish('n3', notAsked.iterable);
    notAsked.push({ subscriptionId: l1.messages.at(-1)!.subscriptionId });
    expect(await rejectedCode(r3)).toBe('PERMISSION_DENIED');
    reader.hangUp();
    await reader.done;
  });

  it('following: new nodes are asked as tasks land on them; the reader leaving closes it on every node', async () => {
    const { broker, listen, subscribe, advance, tasks } = setup();
    const l1 = listen('n1');
    const l2 = listen('n2');
    const l3 = listen('n3');
    const reader = subscribe(true);
    await settle();
    const id = l1.messages[0]!.subscriptionId;
    const p1 = publishStream();
    void broker.publish('n1', p1.iterable);
    p1.push({ subscriptionId: id });
    const p2 = publishStream();
    void broker.publish('n2', p2.iterable);
    p2.push({ subscriptionId: id });
    await advance(10 * LOG_ANSWER_BOUND_MS); // quiet tasks are not lost nodes when following
    expect(reader.settled()).toBe(false);
    expect(reader.warnings()).toEqual([]);
    tasks.push(task({ id: 't3', serviceId: 'web', nodeId: 'n3', state: TaskState.TASK_STATE_ASSIGNED }));
    await advance(LOG_SWEEP_EVERY_MS);
    expect(l3.messages.map((m) => [m.subscriptionId, m.close])).toEqual([[id, false]]);
    reader.hangUp();
    await reader.done;
    await settle();
    expect(l1.messages.at(-1)).toMatchObject({ subscriptionId: id, close: true });
    expect(l2.messages.at(-1)).toMatchObject({ subscriptionId: id, close: true });
    expect(l3.messages.at(-1)).toMatchObject({ subscriptionId: id, close: true });
  });

  it('following: a node that comes back is asked again from when it was lost, and named while it was away', async () => {
    const { listen, subscribe, advance, clock } = setup();
    listen('n1');
    const l2 = listen('n2');
    const reader = subscribe(true);
    await settle();
    await advance(1_000);
    const lostAtMs = clock.nowMs();
    l2.endSession();
    await settle();
    await advance(LOG_SWEEP_EVERY_MS);
    expect(reader.warnings()).toEqual(['host-n2 disconnected from the managers']);
    await advance(3_000);
    const back = listen('n2');
    await settle();
    expect(back.messages).toHaveLength(1);
    expect(back.messages[0]!.options).toMatchObject({ follow: true, sinceMs: lostAtMs });
    expect(back.messages[0]!.options?.tail).toBeUndefined();
    reader.hangUp();
    await reader.done;
  });

  it('following: a node slow to answer is named, then taken back when its lines come', async () => {
    const { broker, listen, subscribe, advance, publishOnce } = setup();
    const l1 = listen('n1');
    listen('n2');
    const reader = subscribe(true);
    await settle();
    void publishOnce('n1', l1, {});
    await advance(LOG_ANSWER_BOUND_MS + LOG_SWEEP_EVERY_MS);
    expect(reader.warnings()).toEqual(['host-n2 did not answer within 5 s']);
    const late = publishStream();
    void broker.publish('n2', late.iterable);
    late.push({ subscriptionId: l1.messages[0]!.subscriptionId, lines: [line('n2', 't2', 'late but here')] });
    await settle();
    expect(reader.lines()).toEqual(['late but here']);
    reader.hangUp();
    await reader.done;
  });

  it('leadership lost: every reader is told to run the command again', async () => {
    const { broker, listen, subscribe } = setup();
    listen('n1');
    listen('n2');
    const reader = subscribe(true);
    await settle();
    broker.stopLeading();
    expect(await rejectedCode(reader.done)).toBe('UNAVAILABLE');
  });

  it('refuses an empty selector and a request for no stream', async () => {
    const { broker } = setup();
    const sink = collector<ServiceLogsResponse>().sink;
    const options = { follow: false, sinceMs: 0, stdout: true, stderr: true };
    expect(await rejectedCode(broker.subscribe({ selector: { serviceIds: [], taskIds: [] }, options }, sink))).toBe(
      'INVALID_ARGUMENT',
    );
    const none = { ...options, stdout: false, stderr: false };
    expect(
      await rejectedCode(broker.subscribe({ selector: { serviceIds: ['web'], taskIds: [] }, options: none }, sink)),
    ).toBe('INVALID_ARGUMENT');
  });
});
