import { describe, expect, it } from 'vitest';
import { newMessage } from '../core/messages.js';
import type { Entry } from '../core/types.js';
import { HeldCommitAppends } from './held-commit-appends.js';

const entry: Entry = { term: 1, index: 6, type: 'normal', data: new Uint8Array([1]) };
const commitOnly = (to: string, commit: number) => newMessage({ type: 'MsgApp', to, index: 5, logTerm: 1, commit });
const withEntries = (to: string, commit: number) =>
  newMessage({ type: 'MsgApp', to, index: 5, logTerm: 1, entries: [entry], commit });
const always = () => true;

describe('held commit-only appends', () => {
  it('holds commit-only appends, one per follower, and hands them out at the tick', () => {
    const h = new HeldCommitAppends();
    const heartbeat = newMessage({ type: 'MsgHeartbeat', to: 'n2' });
    expect(h.filter([commitOnly('n2', 4), heartbeat, commitOnly('n3', 4)], always)).toEqual([heartbeat]);
    expect(h.filter([commitOnly('n2', 5)], always)).toEqual([]);
    expect(h.takeAll().map((m) => [m.to, m.commit])).toEqual([
      ['n2', 5],
      ['n3', 4],
    ]);
    expect(h.takeAll()).toEqual([]);
  });

  it('drops a held append once an append with entries goes to that follower', () => {
    const h = new HeldCommitAppends();
    h.filter([commitOnly('n2', 4), commitOnly('n3', 4)], always);
    const next = withEntries('n2', 5);
    expect(h.filter([next], always)).toEqual([next]);
    expect(h.takeAll().map((m) => m.to)).toEqual(['n3']);
  });

  it('sends at once what it may not hold (a follower being probed)', () => {
    const h = new HeldCommitAppends();
    const probe = commitOnly('n2', 4);
    expect(h.filter([probe], (to) => to !== 'n2')).toEqual([probe]);
    expect(h.takeAll()).toEqual([]);
  });
});
