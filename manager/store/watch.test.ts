import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import type { TswarmError } from '../../lib/errors.js';
import type { Task } from '../../gen/tswarm/v1/objects.js';
import { MemoryStore } from './memory-store.js';
import { Store } from './store.js';
import { DirectProposer, testTask } from './testing/test-store.js';
import { WatchHistory, WATCH_HISTORY_EVENTS_MAX } from './watch-history.js';
import type { ChangeEvent, ChangeEventView } from './watch.js';

function setup() {
  const replica = new MemoryStore();
  return { replica, store: new Store(replica, new DirectProposer([replica]), new ManualClock(1_000)) };
}

const addTask = (store: Store, id: string) => store.update((tx) => tx.create('task', testTask(id, 's1', 'n1')));
const ids = (events: ChangeEvent[]) => events.map((e) => e.object.id);

describe('watch filters run outside the apply path', () => {
  it('does not run a filter while applying; it runs when the reader takes events', async () => {
    const { store } = setup();
    let calls = 0;
    const w = store.watch({ filter: (e) => (calls++, e.object.id !== 'skip') });
    await addTask(store, 'skip');
    await addTask(store, 't1');
    expect(calls).toBe(0);
    expect(ids(w.drain())).toEqual(['t1']);
    expect(calls).toBe(2);
  });

  it('ends only the watcher whose filter throws, with that error; the store and other watchers go on', async () => {
    const { store, replica } = setup();
    const boom = new Error('the filter broke');
    const bad = store.watch({
      filter: () => {
        throw boom;
      },
    });
    const good = store.watch();
    await addTask(store, 't1');
    await expect(bad.next()).rejects.toBe(boom);
    await addTask(store, 't2');
    expect(replica.count('task')).toBe(2);
    expect(ids(good.drain())).toEqual(['t1', 't2']);
    await expect(bad.next()).rejects.toBe(boom);
  });

  it('wakes a waiting reader with the first event its filter passes', async () => {
    const { store } = setup();
    const w = store.watch({ filter: (e) => e.object.id === 't2' });
    const next = w.next();
    await addTask(store, 't1');
    await addTask(store, 't2');
    expect((await next).value?.object.id).toBe('t2');
  });
});

describe('watchers never share an event object', () => {
  it('gives each reader its own copy, so no reader changes what another sees', async () => {
    const { store, replica } = setup();
    // A filter sees the shared event, read-only: a write through it does not compile.
    const writingFilter = (e: ChangeEventView) => {
      // @ts-expect-error the filter's view of the event is read-only
      e.object.id = 'changed-by-a-filter';
      return true;
    };
    void writingFilter;
    const a = store.watch({ filter: (e) => e.object.id === 't1' });
    const b = store.watch();
    await addTask(store, 't1');
    const [fromA] = a.drain();
    (fromA!.object as Task).serviceId = 'changed-by-a';
    const [fromB] = b.drain();
    expect((fromB!.object as Task).nodeId).toBe('n1');
    expect((fromB!.object as Task).serviceId).toBe('s1');
    expect(replica.get('task', 't1')!.nodeId).toBe('n1');
    // A resumed watch replays the same history: it was not changed either.
    expect((store.watch({ fromVersion: 0 }).drain()[0]!.object as Task).nodeId).toBe('n1');
  });
});

describe('a filter sees the shared event; readers copy only what passes', () => {
  it('hands every filter the one shared event, and each reader its own copy of what it keeps', async () => {
    const { store } = setup();
    const seen: ChangeEventView['object'][] = [];
    const a = store.watch({ filter: (e) => (seen.push(e.object), true) });
    const b = store.watch({ filter: (e) => (seen.push(e.object), e.object.id === 'none') });
    await addTask(store, 't1');
    const [fromA] = a.drain();
    expect(b.drain()).toEqual([]);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(fromA!.object).not.toBe(seen[0]);
    expect(fromA!.object).toEqual(seen[0]);
  });

  it('skipQueued drops what is queued unread; the next change is seen', async () => {
    const { store } = setup();
    const w = store.watch();
    await addTask(store, 't1');
    await addTask(store, 't2');
    w.skipQueued();
    expect(w.drain()).toEqual([]);
    await addTask(store, 't3');
    expect(ids(w.drain())).toEqual(['t3']);
  });
});

describe('MemoryStore.peek', () => {
  it('shows the stored object as of its version without copying; an update replaces it, never changes it', async () => {
    const { store, replica } = setup();
    await addTask(store, 't1');
    const before = replica.peek('task', 't1')!;
    expect(replica.peek('task', 't1')).toBe(before);
    await store.update((tx, r) => tx.update('task', { ...r.get('task', 't1')!, nodeId: 'n2' }));
    expect(before.nodeId).toBe('n1');
    expect(replica.peek('task', 't1')!.nodeId).toBe('n2');
    expect(replica.peek('task', 'missing')).toBeUndefined();
    expect(replica.peekAll('task')).toEqual([replica.peek('task', 't1')]);
  });

  it('tasksOfService copies only the tasks its filter keeps, filtering the stored ones', async () => {
    const { store, replica } = setup();
    await addTask(store, 't1');
    await addTask(store, 't2');
    const seen: unknown[] = [];
    const kept = replica.tasksOfService('s1', (t) => (seen.push(t), t.id === 't2'));
    expect(kept.map((t) => t.id)).toEqual(['t2']);
    expect(seen).toContain(replica.peek('task', 't2'));
    expect(kept[0]).not.toBe(replica.peek('task', 't2'));
    expect(replica.tasksOfNode('n1').map((t) => t.id)).toEqual(['t1', 't2']);
  });
});

describe('a store restored from a snapshot', () => {
  it('ends its watchers with RESYNC_REQUIRED telling them to list again, waiting or not', async () => {
    const { store, replica } = setup();
    const waiting = store.watch();
    const pending = waiting.next();
    const idle = store.watch();
    const other = new MemoryStore();
    other.restore(replica.snapshot());
    replica.restore(other.snapshot());
    for (const err of [await pending.catch((e: unknown) => e), await idle.next().catch((e: unknown) => e)]) {
      expect((err as TswarmError).code).toBe('RESYNC_REQUIRED');
      expect((err as TswarmError).message).toMatch(/replaced by a snapshot.*List the objects again/);
    }
    expect(() => idle.drain()).toThrow(/List the objects again/);
  });
});

describe('a watch resumed from a store version', () => {
  it('replays the changes after that version, then the live ones, without repeats', async () => {
    const { store } = setup();
    await addTask(store, 't1');
    const v1 = await addTask(store, 't2');
    await addTask(store, 't3');
    const w = store.watch({ fromVersion: v1 });
    await addTask(store, 't4');
    expect(ids(w.drain())).toEqual(['t3', 't4']);
    expect(ids(store.watch({ fromVersion: 0, kinds: ['task'] }).drain())).toEqual(['t1', 't2', 't3', 't4']);
  });

  it('refuses with RESYNC_REQUIRED a version older than the history holds, or than a restored snapshot', async () => {
    const { store, replica } = setup();
    for (let i = 0; i < 3; i++) await addTask(store, `t${i}`);
    const copy = new MemoryStore();
    copy.restore(replica.snapshot());
    expect(() => copy.watch({ fromVersion: 1 })).toThrow(expect.objectContaining({ code: 'RESYNC_REQUIRED' }));
    expect(copy.watch({ fromVersion: copy.version }).drain()).toEqual([]);
  });

  it('waits for a version this replica has not reached yet (it lags the one the reader listed from)', async () => {
    const { store } = setup();
    await addTask(store, 't1');
    const w = store.watch({ fromVersion: 2 });
    await addTask(store, 't2'); // version 2: the reader had it already
    await addTask(store, 't3');
    expect(ids(w.drain())).toEqual(['t3']);
  });
});

describe('updates with the object before them (includePrevious)', () => {
  it('gives an update its previous object, only to a watcher that asks, and stamps the proposer time', async () => {
    const { store, replica } = setup();
    await addTask(store, 't1');
    const withPrevious = store.watch({ includePrevious: true });
    const without = store.watch();
    await store.update((tx) => {
      const t = replica.get('task', 't1')!;
      tx.update('task', { ...t, nodeId: 'n2' });
    });
    const [e] = withPrevious.drain();
    expect(e).toMatchObject({ action: 'update', timestampMs: 1_000 });
    expect((e!.object as Task).nodeId).toBe('n2');
    expect((e!.previous as Task).nodeId).toBe('n1');
    expect(without.drain()[0]!.previous).toBeUndefined();
  });

  it('keeps no previous object in the history a resumed watch replays', async () => {
    const { store, replica } = setup();
    await addTask(store, 't1');
    await store.update((tx) => tx.update('task', { ...replica.get('task', 't1')!, nodeId: 'n2' }));
    const replayed = store.watch({ fromVersion: 1, includePrevious: true }).drain();
    expect(replayed.map((e) => e.action)).toEqual(['update']);
    expect(replayed[0]!.previous).toBeUndefined();
  });
});

describe('WatchHistory', () => {
  const event = (version: number): ChangeEvent => ({
    action: 'create',
    kind: 'task',
    object: testTask(`t${version}`, 's', 'n'),
    version,
    timestampMs: 1_000,
  });

  it('keeps at most its bound, and knows which versions it can no longer replay', () => {
    const h = new WatchHistory(3);
    for (let v = 1; v <= 5; v++) h.record(event(v));
    expect(h.size).toBe(3);
    expect(h.since(2).map((e) => e.version)).toEqual([3, 4, 5]);
    expect(h.since(4).map((e) => e.version)).toEqual([5]);
    expect(() => h.since(1)).toThrow(/no longer holds the changes after version 1/);
  });

  it('replays all of a transaction whose first changes were evicted only from its own version on', () => {
    const h = new WatchHistory(2);
    for (const v of [1, 2, 2, 2]) h.record(event(v));
    expect(() => h.since(1)).toThrow(/no longer holds the changes after version 1/);
    expect(h.since(2)).toEqual([]);
  });

  it('is bounded by a named count that holds the largest transaction', () => {
    expect(WATCH_HISTORY_EVENTS_MAX).toBe(10_000);
    const h = new WatchHistory();
    for (let v = 1; v <= WATCH_HISTORY_EVENTS_MAX * 3; v++) h.record(event(v));
    expect(h.size).toBe(WATCH_HISTORY_EVENTS_MAX);
    expect(h.since(WATCH_HISTORY_EVENTS_MAX * 2)[0]!.version).toBe(WATCH_HISTORY_EVENTS_MAX * 2 + 1);
  });
});
