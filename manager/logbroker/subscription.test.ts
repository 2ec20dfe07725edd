import { describe, expect, it } from 'vitest';
import { TaskState, type Task } from '../../gen/tswarm/v1/objects.js';
import { task } from '../tasks/testing/objects.js';
import { LogSubscription, selectNodes, selects } from './subscription.js';

const options = { follow: false, sinceMs: 0, stdout: true, stderr: true };
const followOptions = { ...options, follow: true };

function nodesOf(tasks: Task[], selector: { serviceIds?: string[]; taskIds?: string[] }, follow: boolean): string[] {
  const sel = { serviceIds: selector.serviceIds ?? [], taskIds: selector.taskIds ?? [] };
  const { nodeIds } = selectNodes(
    sel,
    (id) => tasks.filter((t) => t.serviceId === id),
    (id) => tasks.find((t) => t.id === id),
    follow,
  );
  return [...nodeIds].sort();
}

describe('selectNodes', () => {
  const tasks = [
    task({ id: 't1', serviceId: 'web', nodeId: 'n1' }),
    task({ id: 't2', serviceId: 'web', nodeId: 'n2' }),
    task({ id: 't3', serviceId: 'web', nodeId: 'n2', state: TaskState.TASK_STATE_SHUTDOWN }),
    task({ id: 't4', serviceId: 'web', nodeId: 'n3', state: TaskState.TASK_STATE_PREPARING }),
    task({ id: 't5', serviceId: 'web' }), // pending: on no node
    task({ id: 't6', serviceId: 'db', nodeId: 'n4' }),
  ];

  it('a service: each node of its tasks that ran, once', () => {
    expect(nodesOf(tasks, { serviceIds: ['web'] }, false)).toEqual(['n1', 'n2']);
  });

  it('following: also the nodes of tasks still starting (their lines come)', () => {
    expect(nodesOf(tasks, { serviceIds: ['web'] }, true)).toEqual(['n1', 'n2', 'n3']);
  });

  it('a task named by ID counts in any state; an unknown one adds nothing', () => {
    expect(nodesOf(tasks, { taskIds: ['t4', 'nope'] }, false)).toEqual(['n3']);
  });

  it('selects: by task ID or by service', () => {
    const sel = { serviceIds: ['db'], taskIds: ['t1'] };
    expect(selects(sel, { id: 't1', serviceId: 'web' })).toBe(true);
    expect(selects(sel, { id: 't6', serviceId: 'db' })).toBe(true);
    expect(selects(sel, { id: 't2', serviceId: 'web' })).toBe(false);
  });
});

describe('LogSubscription', () => {
  const selector = { serviceIds: ['web'], taskIds: [] };

  it('completes once every node finished or was lost, and names each lost node once', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 0);
    s.addNode('n2', 0);
    expect(s.addNode('n1', 0)).toBe(false);
    expect(s.complete()).toBe(false);
    s.heard('n1', 10);
    s.finished('n1');
    s.lose('n2', 'is down', 20);
    expect(s.complete()).toBe(true);
    expect(s.takeWarnings()).toEqual([{ nodeId: 'n2', reason: 'is down' }]);
    expect(s.takeWarnings()).toEqual([]);
  });

  it('a finished node is not lost afterwards, nor a lost one finished', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 0);
    s.addNode('n2', 0);
    s.finished('n1');
    s.lose('n1', 'disconnected', 5);
    s.lose('n2', 'disconnected', 5);
    s.finished('n2');
    expect(s.stateOf('n1')?.kind).toBe('done');
    expect(s.stateOf('n2')?.kind).toBe('lost');
    expect(s.heard('n2', 6)).toBe(false);
  });

  it('silence: a node that never answers is silent after the bound', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 1_000);
    expect(s.silentNodes(5_999, 5_000)).toEqual([]);
    expect(s.silentNodes(6_000, 5_000)).toEqual(['n1']);
  });

  it('silence counts from the last message when not following', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 0);
    s.heard('n1', 4_000);
    expect(s.silentNodes(8_999, 5_000)).toEqual([]);
    expect(s.silentNodes(9_000, 5_000)).toEqual(['n1']);
  });

  it('a node whose lines wait for a slow reader is not silent; the wait ends, its silence counts again', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 0);
    s.heard('n1', 0);
    s.deliveryStarted('n1');
    expect(s.silentNodes(60_000, 5_000)).toEqual([]);
    s.deliveryEnded('n1', 60_000);
    expect(s.silentNodes(64_999, 5_000)).toEqual([]);
    expect(s.silentNodes(65_000, 5_000)).toEqual(['n1']);
  });

  it('following: only a node that never answered is silent; the stream never completes', () => {
    const s = new LogSubscription('s', selector, followOptions);
    s.addNode('n1', 0);
    s.addNode('n2', 0);
    s.heard('n1', 0);
    expect(s.silentNodes(3_600_000, 5_000)).toEqual(['n2']);
    s.lose('n2', 'did not answer', 5_000);
    s.finished('n1');
    expect(s.complete()).toBe(false);
  });

  it('resume: a followed node lost is asked again from when it was lost, without the tail', () => {
    const s = new LogSubscription('s', selector, { ...followOptions, tail: 10, sinceMs: 100 });
    s.addNode('n1', 0);
    expect(s.resume('n1', 1)).toBeUndefined();
    s.lose('n1', 'disconnected', 7_000);
    const resumed = s.resume('n1', 9_000);
    expect(resumed).toEqual({ follow: true, sinceMs: 7_000, stdout: true, stderr: true });
    expect(s.stateOf('n1')).toEqual({ kind: 'waiting', sinceMs: 9_000 });
  });

  it('revive: following, a node named missing that publishes again is taken back; not following, it stays missing', () => {
    const followed = new LogSubscription('s', selector, followOptions);
    followed.addNode('n1', 0);
    followed.lose('n1', 'did not answer within 5 s', 5_000);
    expect(followed.revive('n1', 6_000)).toBe(true);
    expect(followed.stateOf('n1')).toEqual({ kind: 'answering', lastMs: 6_000, delivering: 0 });
    expect(followed.revive('n1', 7_000)).toBe(false);
    const once = new LogSubscription('s', selector, options);
    once.addNode('n1', 0);
    once.lose('n1', 'did not answer within 5 s', 5_000);
    expect(once.revive('n1', 6_000)).toBe(false);
  });

  it('resume: not for a subscription that does not follow', () => {
    const s = new LogSubscription('s', selector, options);
    s.addNode('n1', 0);
    s.lose('n1', 'disconnected', 1);
    expect(s.resume('n1', 2)).toBeUndefined();
  });
});
