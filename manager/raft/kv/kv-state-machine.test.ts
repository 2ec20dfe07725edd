import { describe, expect, it } from 'vitest';
import { encodeKvCommand, type KvCommand } from './commands.js';
import { KvStateMachine } from './kv-state-machine.js';

const cmd = (c: Partial<KvCommand> & Pick<KvCommand, 'op' | 'seq'>): Uint8Array =>
  encodeKvCommand({ clientId: 'c1', key: 'k', value: '', expected: '', ...c });

describe('KvStateMachine', () => {
  it('puts, appends, gets and compares-and-swaps', () => {
    const sm = new KvStateMachine();
    sm.apply(1, cmd({ op: 'put', seq: 1, value: 'a' }));
    sm.apply(2, cmd({ op: 'append', seq: 2, value: 'b' }));
    expect(sm.apply(3, cmd({ op: 'get', seq: 3 }))).toEqual({ ok: true, value: 'ab' });
    expect(sm.apply(4, cmd({ op: 'cas', seq: 4, expected: 'x', value: 'c' }))).toEqual({ ok: false, value: 'ab' });
    expect(sm.apply(5, cmd({ op: 'cas', seq: 5, expected: 'ab', value: 'c' }))).toEqual({ ok: true, value: 'ab' });
    expect(sm.get('k')).toBe('c');
  });

  it('never applies a client sequence number twice, even across a snapshot', () => {
    const sm = new KvStateMachine();
    sm.apply(1, cmd({ op: 'append', seq: 1, value: 'x' }));
    sm.apply(2, cmd({ op: 'append', seq: 1, value: 'x' })); // a retry
    expect(sm.get('k')).toBe('x');
    const restored = new KvStateMachine();
    restored.restore(sm.snapshot());
    restored.apply(3, cmd({ op: 'append', seq: 1, value: 'x' }));
    expect(restored.get('k')).toBe('x');
    restored.apply(4, cmd({ op: 'append', seq: 2, value: 'y' }));
    expect(restored.get('k')).toBe('xy');
  });

  it('forgets the least recently active session beyond its bound', () => {
    const sm = new KvStateMachine(2);
    sm.apply(1, encodeKvCommand({ clientId: 'a', seq: 1, op: 'append', key: 'k', value: 'a', expected: '' }));
    sm.apply(2, encodeKvCommand({ clientId: 'b', seq: 1, op: 'append', key: 'k', value: 'b', expected: '' }));
    sm.apply(3, encodeKvCommand({ clientId: 'c', seq: 1, op: 'append', key: 'k', value: 'c', expected: '' }));
    // 'a' was forgotten, so its retry applies again: why forgotten clients must not retry.
    sm.apply(4, encodeKvCommand({ clientId: 'a', seq: 1, op: 'append', key: 'k', value: 'a', expected: '' }));
    expect(sm.get('k')).toBe('abca');
  });
});
