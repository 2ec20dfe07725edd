import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

describe('ByteQueue', () => {
  it('peeks and takes across chunk boundaries, in order', () => {
    const q = new ByteQueue();
    for (const chunk of [[1, 2], [], [3], [4, 5, 6, 7], [8]]) q.push(Buffer.from(chunk));
    expect(q.length).toBe(8);
    expect([...q.peek(4)]).toEqual([1, 2, 3, 4]);
    expect(q.length).toBe(8);
    expect([...q.take(1)]).toEqual([1]);
    expect([...q.take(3)]).toEqual([2, 3, 4]);
    expect([...q.peek(2)]).toEqual([5, 6]);
    expect([...q.take(4)]).toEqual([5, 6, 7, 8]);
    expect(q.length).toBe(0);
    expect(q.take(0).length).toBe(0);
  });

  it('refuses to give more than it holds', () => {
    const q = new ByteQueue();
    q.push(Buffer.from([1, 2]));
    q.push(Buffer.from([3]));
    expect(() => q.take(4)).toThrow(RangeError);
    expect(() => q.peek(4)).toThrow(RangeError);
  });
});
