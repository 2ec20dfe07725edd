import { describe, expect, it } from 'vitest';
import { committedIndex, majority, voteResult } from './quorum.js';

describe('quorum', () => {
  it('majority', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
  });

  it('committed index is the highest index a majority matched', () => {
    const match = (m: Record<string, number>) => (id: string) => m[id] ?? 0;
    expect(committedIndex(['1'], match({ '1': 7 }))).toBe(7);
    expect(committedIndex(['1', '2', '3'], match({ '1': 5, '2': 3, '3': 1 }))).toBe(3);
    expect(committedIndex(['1', '2', '3', '4'], match({ '1': 5, '2': 3, '3': 1, '4': 9 }))).toBe(3);
    expect(committedIndex(['1', '2', '3', '4', '5'], match({ '1': 5, '2': 3, '3': 1 }))).toBe(1);
    expect(committedIndex([], match({}))).toBe(0);
  });

  it('committed index agrees with brute force on random inputs', () => {
    let x = 12345;
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + rnd(7);
      const ids = Array.from({ length: n }, (_, i) => String(i));
      const m = ids.map(() => rnd(10));
      const got = committedIndex(ids, (id) => m[Number(id)]!);
      // Brute force: the largest v such that at least a majority have match >= v.
      let want = 0;
      for (let v = 0; v <= 10; v++) if (m.filter((y) => y >= v).length >= majority(n)) want = v;
      expect(got).toBe(want);
    }
  });

  it('vote result', () => {
    const votes = (m: Record<string, boolean>) => new Map(Object.entries(m));
    const voters = ['1', '2', '3'];
    expect(voteResult(voters, votes({ '1': true }))).toBe('pending');
    expect(voteResult(voters, votes({ '1': true, '2': true }))).toBe('won');
    expect(voteResult(voters, votes({ '1': true, '2': false }))).toBe('pending');
    expect(voteResult(voters, votes({ '1': true, '2': false, '3': false }))).toBe('lost');
    // Votes from non-voters (learners) do not count.
    expect(voteResult(voters, votes({ '1': true, '9': true }))).toBe('pending');
    expect(voteResult(['1'], votes({ '1': true }))).toBe('won');
  });
});
