import { describe, expect, it } from 'vitest';
import { kvModel, type KvInput, type KvOutput } from './kv-model.js';
import { checkHistory, type Operation } from './linearizability.js';

type Op = Operation<KvInput, KvOutput>;
const op = (clientId: string, call: number, ret: number, input: KvInput, output?: string): Op => ({
  clientId,
  input,
  output,
  callTime: call,
  returnTime: ret,
});
const put = (key: string, value: string): KvInput => ({ op: 'put', key, value });
const append = (key: string, value: string): KvInput => ({ op: 'append', key, value });
const get = (key: string): KvInput => ({ op: 'get', key, value: '' });

describe('linearizability checker', () => {
  it('accepts a sequential history', () => {
    const h = [op('a', 0, 1, put('x', '1'), ''), op('b', 2, 3, get('x'), '1')];
    expect(checkHistory(kvModel, h).result).toBe('ok');
  });

  it('accepts concurrent operations in either order', () => {
    // The write overlaps both reads: one may see it, the later one must then see it too.
    const h = [op('a', 0, 10, put('x', '1'), ''), op('b', 1, 2, get('x'), ''), op('c', 3, 4, get('x'), '1')];
    expect(checkHistory(kvModel, h).result).toBe('ok');
  });

  it('rejects a stale read after a completed write', () => {
    const h = [op('a', 0, 1, put('x', '1'), ''), op('b', 2, 3, get('x'), '')];
    expect(checkHistory(kvModel, h)).toEqual({ result: 'illegal', partition: 'x' });
  });

  it('rejects reads that go back in time', () => {
    // Two sequential reads during a long write: new then old is impossible.
    const h = [op('a', 0, 10, put('x', '1'), ''), op('b', 1, 2, get('x'), '1'), op('c', 3, 4, get('x'), '')];
    expect(checkHistory(kvModel, h).result).toBe('illegal');
  });

  it('rejects an append applied twice', () => {
    const h = [op('a', 0, 1, append('x', 'a'), ''), op('b', 2, 3, get('x'), 'aa')];
    expect(checkHistory(kvModel, h).result).toBe('illegal');
  });

  it('lets an operation that never returned take effect or not', () => {
    const pending = op('a', 0, Infinity, append('x', 'a'));
    expect(checkHistory(kvModel, [pending, op('b', 1, 2, get('x'), 'a')]).result).toBe('ok');
    expect(checkHistory(kvModel, [pending, op('b', 1, 2, get('x'), '')]).result).toBe('ok');
    expect(checkHistory(kvModel, [pending, op('b', 1, 2, get('x'), 'a'), op('c', 3, 4, get('x'), '')]).result).toBe(
      'illegal',
    );
  });

  it('checks keys independently', () => {
    const h = [op('a', 0, 1, put('x', '1'), ''), op('b', 2, 3, get('y'), ''), op('c', 4, 5, get('x'), '2')];
    expect(checkHistory(kvModel, h)).toEqual({ result: 'illegal', partition: 'x' });
  });

  it('answers unknown, not ok, when the search budget runs out', () => {
    // Many concurrent appends and a read that matches no order: the search must explore.
    const h: Op[] = [];
    for (let i = 0; i < 12; i++) h.push(op(`c${i}`, i, 100 + i, append('x', String.fromCharCode(97 + i)), ''));
    h.push(op('r', 200, 201, get('x'), 'zz'));
    expect(checkHistory(kvModel, h, { maxStepsPerPartition: 1000, maxOpsPerPartition: 100 }).result).toBe('unknown');
    expect(checkHistory(kvModel, h, { maxStepsPerPartition: 1000, maxOpsPerPartition: 5 }).result).toBe('unknown');
  });

  it('handles a long concurrent history that is linearizable', () => {
    const h: Op[] = [];
    let expected = '';
    for (let i = 0; i < 200; i++) {
      const v = String(i % 10);
      // Each append overlaps the next one; reads between see the prefix.
      h.push(op(`w${i % 3}`, i * 10, i * 10 + 15, append('x', v), ''));
      expected += v;
    }
    h.push(op('r', 5000, 5001, get('x'), expected));
    expect(checkHistory(kvModel, h).result).toBe('ok');
  });
});
