import { describe, expect, it } from 'vitest';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import { ProgressTracker } from './tracker.js';

describe('Inflights', () => {
  it('is bounded by count and by bytes, and frees in order', () => {
    const inf = new Inflights(3, 100);
    inf.add(1, 10);
    inf.add(2, 10);
    expect(inf.full()).toBe(false);
    inf.add(3, 10);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(4, 1)).toThrow(/full window/);
    inf.freeLE(2);
    expect(inf.count()).toBe(1);
    inf.add(5, 95);
    expect(inf.full()).toBe(true); // 105 bytes >= 100
    inf.freeFirstOne();
    expect(inf.full()).toBe(false);
  });
});

describe('Progress', () => {
  it('probe sends one append at a time, replicate streams within the window', () => {
    const pr = new Progress(5, false, 2, 0);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2, 0);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(6)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    pr.becomeReplicate();
    expect(pr.next).toBe(7);
    pr.sentEntries(2, 0);
    pr.sentEntries(1, 0);
    expect(pr.next).toBe(10);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(8);
    pr.inflights.freeLE(8);
    expect(pr.isPaused()).toBe(false);
  });

  it('ignores stale rejections and backs off to the hint', () => {
    const pr = new Progress(10, false, 4, 0);
    pr.match = 3;
    // In probe, only a rejection of the append in flight (next - 1) counts.
    expect(pr.maybeDecrTo(5, 4)).toBe(false);
    expect(pr.maybeDecrTo(9, 6)).toBe(true);
    expect(pr.next).toBe(7);
    // Never below match + 1.
    expect(pr.maybeDecrTo(6, 0)).toBe(true);
    expect(pr.next).toBe(4);
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(3, 0)).toBe(false); // at or below match: stale
    expect(pr.maybeDecrTo(8, 0)).toBe(true);
    expect(pr.next).toBe(4);
  });

  it('after a snapshot, probes from past the snapshot', () => {
    const pr = new Progress(3, false, 4, 0);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});

describe('ProgressTracker', () => {
  it('counts only voters toward commit and quorum', () => {
    const t = new ProgressTracker(4, 0);
    for (const id of ['1', '2', '3']) t.addVoter(id, 1);
    t.addLearner('4', 1);
    t.progress.get('1')!.match = 9;
    t.progress.get('4')!.match = 9;
    expect(t.committed()).toBe(0);
    t.progress.get('2')!.match = 5;
    expect(t.committed()).toBe(5);
    for (const pr of t.progress.values()) pr.recentActive = false;
    t.progress.get('4')!.recentActive = true;
    expect(t.quorumActive('1')).toBe(false);
    t.progress.get('3')!.recentActive = true;
    expect(t.quorumActive('1')).toBe(true);
  });

  it('promotes a learner keeping its progress, and removes members', () => {
    const t = new ProgressTracker(4, 0);
    t.addVoter('1', 1);
    t.addLearner('2', 1);
    t.progress.get('2')!.match = 7;
    t.addVoter('2', 1);
    expect(t.confState()).toEqual({ voters: ['1', '2'], learners: [] });
    expect(t.progress.get('2')!.match).toBe(7);
    t.remove('1');
    expect(t.confState()).toEqual({ voters: ['2'], learners: [] });
    expect(t.isSingleton()).toBe(true);
  });
});
