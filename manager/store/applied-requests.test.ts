import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { StoreTransaction } from '../../gen/tswarm/v1/store.js';
import type { Service } from '../../gen/tswarm/v1/objects.js';
import { AppliedRequests, APPLIED_REQUESTS_MAX, REQUEST_ID_CHARS_MAX } from './applied-requests.js';
import { MemoryStore, type TxResult } from './memory-store.js';
import { Store, Tx, type Proposer } from './store.js';

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

/** A create as a handler builds it: a fresh object ID each attempt, so a retry is not the same bytes. */
function createEntry(serviceId: string, name: string, requestId: string): Uint8Array {
  const tx = new Tx();
  tx.create('service', service(serviceId, name));
  return StoreTransaction.encode({ actions: tx.actions, timestampMs: 1_000, requestId }).finish();
}

/**
 * Raft as seen across a leader change: every proposal is committed and applied on both managers,
 * but the answer to the first one is lost (its leader died before replying).
 */
class LeaderDiesAfterCommit implements Proposer {
  index = 0;
  answersLost = 1;
  constructor(private readonly managers: MemoryStore[]) {}
  async propose(data: Uint8Array): Promise<TxResult> {
    this.index++;
    const results = this.managers.map((m) => m.apply(this.index, data));
    if (this.answersLost-- > 0)
      throw new TswarmError('UNAVAILABLE', 'raft: proposal was pending when this member stopped leading');
    return results[0]!;
  }
}

describe('a retried transaction is applied at most once', () => {
  it('a create retried with the same request ID across a leader change makes one service', async () => {
    const [m1, m2] = [new MemoryStore(), new MemoryStore()];
    const raft = new LeaderDiesAfterCommit([m1, m2]);
    const clock = new ManualClock(1_000);
    const create = (via: MemoryStore, attempt: number) =>
      new Store(via, raft, clock).update((tx) => tx.create('service', service(`svc-${attempt}`, 'web')), {
        requestId: 'create-web',
      });
    await expect(create(m1, 1)).rejects.toThrow(/outcome|stopped leading/);
    // The retry reaches the new leader, m2, which has applied the first attempt already.
    const version = await create(m2, 2);
    expect(version).toBe(1);
    expect(m2.list('service').map((s) => s.id)).toEqual(['svc-1']);
    expect(raft.index).toBe(1); // answered from the record, nothing proposed again
  });

  it('skips at apply a retry that entered the log before the first attempt was applied, answering its result', () => {
    const m = new MemoryStore();
    expect(m.apply(1, createEntry('svc-1', 'web', 'r1'))).toEqual({ ok: true, version: 1 });
    expect(m.apply(2, createEntry('svc-2', 'web', 'r1'))).toEqual({ ok: true, version: 1 });
    expect(m.list('service').map((s) => s.id)).toEqual(['svc-1']);
    // Without an ID, the same create is a new request: the store refuses the duplicate name.
    expect(m.apply(3, createEntry('svc-3', 'web', ''))).toMatchObject({ ok: false, code: 'ALREADY_EXISTS' });
  });

  it('does not record a failed transaction (it changed nothing): its retry is applied once the cause is gone', () => {
    const m = new MemoryStore();
    m.apply(1, createEntry('svc-1', 'web', ''));
    expect(m.apply(2, createEntry('svc-2', 'web', 'r2'))).toMatchObject({ ok: false, code: 'ALREADY_EXISTS' });
    const tx = new Tx();
    tx.remove('service', m.get('service', 'svc-1')!);
    expect(
      m.apply(3, StoreTransaction.encode({ actions: tx.actions, timestampMs: 1_000, requestId: '' }).finish()).ok,
    ).toBe(true);
    expect(m.apply(4, createEntry('svc-2', 'web', 'r2'))).toEqual({ ok: true, version: 4 });
    // Now applied, it is recorded: a further retry is answered, not applied again.
    expect(m.apply(5, createEntry('svc-3', 'web', 'r2'))).toEqual({ ok: true, version: 4 });
    expect(m.get('service', 'svc-3')).toBeUndefined();
  });

  it('keeps the record in snapshots, so a manager restored from one skips the retry too', () => {
    const m = new MemoryStore();
    m.apply(1, createEntry('svc-1', 'web', 'r1'));
    const restored = new MemoryStore();
    restored.restore(m.snapshot());
    expect(restored.resultOfRequest('r1')).toEqual({ ok: true, version: 1 });
    expect(restored.apply(2, createEntry('svc-2', 'web', 'r1'))).toEqual({ ok: true, version: 1 });
    expect(restored.count('service')).toBe(1);
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(m.snapshot()))).toBe(false); // version moved
    m.apply(2, createEntry('svc-2', 'web', 'r1'));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(m.snapshot()))).toBe(true);
  });

  it('refuses an over-long request ID before proposing, and at apply', async () => {
    const m = new MemoryStore();
    const store = new Store(m, { propose: async (d) => m.apply(1, d) }, new ManualClock());
    const long = 'x'.repeat(REQUEST_ID_CHARS_MAX + 1);
    await expect(store.update((tx) => tx.create('service', service('s', 'web')), { requestId: long })).rejects.toThrow(
      /at most 128 characters/,
    );
    expect(m.apply(1, createEntry('s', 'web', long))).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(m.count('service')).toBe(0);
  });
});

describe('AppliedRequests', () => {
  it('forgets the oldest beyond its count bound, and records older than its age in store versions', () => {
    const r = new AppliedRequests(3, 100);
    for (let v = 1; v <= 5; v++) r.record(`r${v}`, v, { ok: true, version: v });
    expect(r.size).toBe(3);
    expect(r.resultOf('r2')).toBeUndefined();
    expect(r.resultOf('r3')).toEqual({ ok: true, version: 3 });
    r.evict(104);
    expect(r.resultOf('r3')).toBeUndefined();
    expect(r.resultOf('r4')).toEqual({ ok: true, version: 4 });
    r.evict(1_000);
    expect(r.size).toBe(0);
  });

  it('evicts the same way on every manager: by applied index only, however entries are applied', () => {
    const [a, b] = [new MemoryStore(), new MemoryStore()];
    for (let i = 1; i <= 20; i++) a.apply(i, createEntry(`s${i}`, `n${i}`, `r${i}`));
    b.restore(a.snapshot());
    for (let i = 21; i <= 30; i++) {
      a.apply(i, createEntry(`s${i}`, `n${i}`, `r${i}`));
      b.apply(i, createEntry(`s${i}`, `n${i}`, `r${i}`));
    }
    expect(Buffer.from(a.snapshot()).equals(Buffer.from(b.snapshot()))).toBe(true);
    expect(APPLIED_REQUESTS_MAX).toBe(10_000);
  });
});
