import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { NodeRole, type Service } from '../../gen/tswarm/v1/objects.js';
import { MemoryStore } from './memory-store.js';
import { Store } from './store.js';
import { DirectProposer, testTask } from './testing/test-store.js';
import type { ChangeEvent } from './watch.js';

function service(id: string, name: string): Service {
  return {
    id,
    meta: undefined,
    spec: {
      annotations: { name, labels: {} },
      taskTemplate: undefined,
      replicated: { replicas: 1 },
      global: undefined,
      updateConfig: undefined,
      rollbackConfig: undefined,
      endpoint: undefined,
    },
    previousSpec: undefined,
    endpoint: undefined,
    updateStatus: undefined,
  };
}

function setup() {
  const replicas = [new MemoryStore(), new MemoryStore()];
  const clock = new ManualClock(1_000);
  return { replicas, store: new Store(replicas[0]!, new DirectProposer(replicas), clock), clock };
}

describe('store transactions', () => {
  it('stamps version = index and the proposer’s time, identically on every replica', async () => {
    const { store, replicas, clock } = setup();
    const v = await store.update((tx) => tx.create('service', service('s1', 'web')));
    clock.advance(500);
    await store.update((tx, s) => {
      const svc = s.get('service', 's1')!;
      svc.spec!.replicated = { replicas: 3 };
      tx.update('service', svc);
    });
    const a = replicas[0]!.get('service', 's1')!;
    expect(a.meta).toEqual({ id: 's1', version: v + 1, createdAtMs: 1_000, updatedAtMs: 1_500 });
    expect(replicas[1]!.get('service', 's1')).toEqual(a);
    expect(Buffer.from(replicas[0]!.snapshot()).equals(Buffer.from(replicas[1]!.snapshot()))).toBe(true);
  });

  it('fails a stale update cleanly with CONFLICT and changes nothing', async () => {
    const { store } = setup();
    await store.update((tx) => tx.create('service', service('s1', 'web')));
    const stale = store.get('service', 's1')!;
    await store.update((tx, s) => tx.update('service', s.get('service', 's1')!));
    const version = store.replica.version;
    const err = await store.update((tx) => tx.update('service', stale)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TswarmError);
    // Built again, the same stale version would conflict again: not proposed a second time.
    expect(store.replica.version).toBe(version + 1);
    expect((err as TswarmError).code).toBe('CONFLICT');
  });

  it('builds again when a transaction applied meanwhile changed what it read, keeping both changes', async () => {
    const replica = new MemoryStore();
    const direct = new DirectProposer([replica]);
    const clock = new ManualClock(1_000);
    let interleave: (() => Promise<unknown>) | undefined;
    // As Raft orders them: a competing transaction (proposed elsewhere) is applied just before ours.
    const racing = {
      propose: async (data: Uint8Array) => {
        const other = interleave;
        interleave = undefined;
        if (other) await other();
        return direct.propose(data);
      },
    };
    const store = new Store(replica, racing, clock);
    await store.update((tx) => tx.create('service', service('s1', 'web')));
    interleave = () =>
      new Store(replica, direct, clock).update((tx, s) => {
        const svc = s.get('service', 's1')!;
        svc.spec!.annotations!.labels = { by: 'other' };
        tx.update('service', svc);
      });
    let builds = 0;
    await store.update((tx, s) => {
      builds++;
      const svc = s.get('service', 's1')!;
      svc.spec!.replicated = { replicas: 3 };
      tx.update('service', svc);
    });
    expect(builds).toBe(2);
    const svc = replica.get('service', 's1')!;
    expect(svc.spec!.replicated).toEqual({ replicas: 3 });
    expect(svc.spec!.annotations!.labels).toEqual({ by: 'other' });
  });

  it('applies all of a transaction or none of it', async () => {
    const { store } = setup();
    await store.update((tx) => tx.create('service', service('s1', 'web')));
    const err = await store
      .update((tx) => {
        tx.create('service', service('s2', 'api'));
        tx.create('service', service('s3', 'web'));
      })
      .catch((e: unknown) => e);
    expect((err as TswarmError).code).toBe('ALREADY_EXISTS');
    expect((err as TswarmError).message).toContain('a service named "web" already exists');
    expect(store.get('service', 's2')).toBeUndefined();
  });

  it('indexes tasks by service and node, and names uniquely', async () => {
    const { store, replicas } = setup();
    await store.update((tx) => {
      tx.create('task', testTask('t1', 's1', 'n1'));
      tx.create('task', testTask('t2', 's1', 'n2'));
      tx.create('task', testTask('t3', 's2', 'n1'));
    });
    expect(
      replicas[0]!
        .tasksOfService('s1')
        .map((t) => t.id)
        .sort(),
    ).toEqual(['t1', 't2']);
    expect(
      replicas[0]!
        .tasksOfNode('n1')
        .map((t) => t.id)
        .sort(),
    ).toEqual(['t1', 't3']);
    await store.update((tx, s) => {
      const t = s.get('task', 't1')!;
      t.nodeId = 'n2';
      tx.update('task', t);
    });
    expect(replicas[0]!.tasksOfNode('n1').map((t) => t.id)).toEqual(['t3']);
    await store.update((tx, s) => tx.remove('task', s.get('task', 't3')!));
    expect(replicas[0]!.tasksOfNode('n1')).toEqual([]);
  });

  it('restores from a snapshot to the same state and indexes', async () => {
    const { store, replicas } = setup();
    await store.update((tx) => {
      tx.create('service', service('s1', 'web'));
      tx.create('task', testTask('t1', 's1', 'n1'));
      tx.create('node', {
        id: 'n1',
        meta: undefined,
        spec: undefined,
        description: undefined,
        status: undefined,
        managerStatus: undefined,
        role: NodeRole.NODE_ROLE_MANAGER,
        certificate: undefined,
        trustRootDigest: '',
      });
    });
    const copy = new MemoryStore();
    copy.restore(replicas[0]!.snapshot());
    expect(copy.version).toBe(replicas[0]!.version);
    expect(copy.findByName('service', 'web')?.id).toBe('s1');
    expect(copy.tasksOfNode('n1').map((t) => t.id)).toEqual(['t1']);
    expect(copy.get('node', 'n1')?.role).toBe(NodeRole.NODE_ROLE_MANAGER);
  });

  it('never lets callers mutate stored objects in place', async () => {
    const { store } = setup();
    await store.update((tx) => tx.create('service', service('s1', 'web')));
    store.get('service', 's1')!.spec!.annotations!.name = 'hacked';
    expect(store.get('service', 's1')!.spec!.annotations!.name).toBe('web');
  });
});

describe('watches', () => {
  it('deliver changes in order, filtered by kind', async () => {
    const { store } = setup();
    const w = store.watch({ kinds: ['task'] });
    await store.update((tx) => {
      tx.create('service', service('s1', 'web'));
      tx.create('task', testTask('t1', 's1', 'n1'));
    });
    await store.update((tx, s) => tx.remove('task', s.get('task', 't1')!));
    const seen: string[] = [];
    for await (const e of w) {
      seen.push(`${e.action} ${e.kind} ${e.object.id}`);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['create task t1', 'remove task t1']);
  });

  it('close a reader that falls too far behind, with an error saying what to do', async () => {
    const { store } = setup();
    const w = store.watch({ queueLengthMax: 2 });
    for (let i = 0; i < 3; i++) await store.update((tx) => tx.create('task', testTask(`t${i}`, 's', 'n')));
    const err = await w.next().catch((e: unknown) => e);
    expect((err as TswarmError).code).toBe('RESOURCE_EXHAUSTED');
    expect((err as TswarmError).message).toContain('List the objects again');
    const events: ChangeEvent[] = [];
    const w2 = store.watch();
    await store.update((tx) => tx.create('task', testTask('t9', 's', 'n')));
    events.push(...w2.drain());
    expect(events.map((e) => e.object.id)).toEqual(['t9']);
  });
});
