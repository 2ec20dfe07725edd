import { describe, expect, it } from 'vitest';
import { RaftLog } from './log.js';
import { MemoryStorage } from './memory-storage.js';
import type { Entry } from './types.js';

const ent = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(data),
});
const terms = (es: readonly Entry[] | undefined) => (es ?? []).map((e) => `${e.term}/${e.index}`);

function logWith(stable: Entry[], unstable: Entry[] = []): RaftLog {
  const s = new MemoryStorage();
  s.append(stable);
  const log = new RaftLog(s, 1 << 20);
  if (unstable.length > 0) log.append(unstable);
  return log;
}

describe('RaftLog', () => {
  it('reads across storage and unstable entries', () => {
    const log = logWith([ent(1, 1), ent(2, 1)], [ent(3, 2), ent(4, 2)]);
    expect(log.lastIndex()).toBe(4);
    expect(log.term(2)).toBe(1);
    expect(log.term(4)).toBe(2);
    expect(log.term(5)).toBe(0);
    expect(terms(log.slice(2, 5, 1 << 20))).toEqual(['1/2', '2/3', '2/4']);
  });

  it('maybeAppend: rejects a mismatch, truncates a conflicting suffix, commits up to the last new entry', () => {
    const log = logWith([ent(1, 1), ent(2, 1), ent(3, 1)]);
    expect(log.maybeAppend(3, 2, 3, [ent(4, 2)])).toBeUndefined();
    expect(log.maybeAppend(1, 1, 10, [ent(2, 2), ent(3, 2)])).toBe(3);
    expect(log.committed).toBe(3);
    expect(terms(log.slice(1, 4, 1 << 20))).toEqual(['1/1', '2/2', '2/3']);
    // A duplicate, older append changes nothing.
    expect(log.maybeAppend(1, 1, 2, [ent(2, 2)])).toBe(2);
    expect(log.lastIndex()).toBe(3);
  });

  it('never overwrites committed entries, never lowers commit', () => {
    const log = logWith([ent(1, 1), ent(2, 1)]);
    log.commitTo(2);
    expect(() => log.maybeAppend(0, 0, 2, [ent(1, 2)])).toThrow(/invariant/);
    log.commitTo(1);
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(5)).toThrow(/beyond last index/);
  });

  it('refuses entries whose terms decrease', () => {
    const log = logWith([ent(1, 3)]);
    expect(() => log.append([ent(2, 2)])).toThrow(/terms never decrease/);
  });

  it('commits only entries of the current term', () => {
    const log = logWith([ent(1, 1), ent(2, 2)]);
    expect(log.maybeCommit(1, 2)).toBe(false);
    expect(log.maybeCommit(2, 2)).toBe(true);
    expect(log.committed).toBe(2);
  });

  it('findConflictByTerm skips a whole term', () => {
    const log = logWith([ent(1, 1), ent(2, 1), ent(3, 3), ent(4, 3), ent(5, 3)]);
    expect(log.findConflictByTerm(5, 2)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(5, 3)).toEqual({ index: 5, term: 3 });
  });

  it('bounds slices by bytes but always returns one entry', () => {
    const log = logWith([ent(1, 1, 'aaaa'), ent(2, 1, 'bbbb'), ent(3, 1, 'cc')]);
    expect(terms(log.slice(1, 4, 2))).toEqual(['1/1']);
    expect(terms(log.slice(1, 4, 8))).toEqual(['1/1', '1/2']);
    expect(terms(log.slice(1, 4, 10))).toEqual(['1/1', '1/2', '1/3']);
  });

  it('reports compacted ranges as undefined', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 2)]);
    s.createSnapshot(3, { voters: ['1'], learners: [] }, new Uint8Array());
    s.compact(3);
    const log = new RaftLog(s, 1 << 20);
    expect(log.firstIndex()).toBe(4);
    expect(log.term(3)).toBe(1);
    expect(log.term(2)).toBeUndefined();
    expect(log.slice(2, 5, 1 << 20)).toBeUndefined();
    expect(log.applied).toBe(3);
  });

  it('stableTo ignores entries replaced since they were handed out', () => {
    const log = logWith([ent(1, 1)], [ent(2, 1), ent(3, 1)]);
    log.append([ent(3, 2)]);
    log.stableTo(3, 1);
    expect(terms(log.unstableEntries())).toEqual(['1/2', '2/3']);
    log.stableTo(3, 2);
    expect(log.unstableEntries()).toEqual([]);
  });
});

describe('MemoryStorage', () => {
  it('appends with truncation, snapshots and compacts', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.append([ent(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    s.createSnapshot(2, { voters: ['1'], learners: [] }, new Uint8Array([1]));
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(2);
    expect(() => s.term(1)).toThrow(/compacted/);
    expect(() => s.entries(1, 3, 100)).toThrow(/compacted/);
    expect(() => s.term(3)).toThrow(/beyond/);
  });
});
