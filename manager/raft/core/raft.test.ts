import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/random.js';
import { MemoryStorage } from './memory-storage.js';
import { newMessage, type Message } from './messages.js';
import { ProposalDroppedError, RawNode } from './rawnode.js';
import type { ConfState } from './types.js';

interface TestNode {
  rn: RawNode;
  storage: MemoryStorage;
}

function cluster(
  ids: string[],
  opts: { preVote?: boolean; checkQuorum?: boolean; seed?: number; disableProposalForwarding?: boolean } = {},
): Map<string, TestNode> {
  const cs: ConfState = { voters: ids, learners: [] };
  const random = new SeededRandom(opts.seed ?? 1);
  return new Map(
    ids.map((id) => {
      const storage = MemoryStorage.bootstrap(cs, 1, 1);
      return [
        id,
        {
          storage,
          rn: new RawNode({
            id,
            storage,
            random,
            preVote: opts.preVote,
            checkQuorum: opts.checkQuorum,
            disableProposalForwarding: opts.disableProposalForwarding,
          }),
        },
      ];
    }),
  );
}

/** Runs Ready cycles and delivers every message until nothing moves (bounded). */
function stabilize(nodes: Map<string, TestNode>, drop: (m: Message) => boolean = () => false): void {
  for (let round = 0; round < 100; round++) {
    const msgs: Message[] = [];
    for (const n of nodes.values()) {
      if (!n.rn.hasReady()) continue;
      const rd = n.rn.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      msgs.push(...rd.messages, ...rd.messagesAfterPersist);
      n.rn.advance();
    }
    if (msgs.length === 0) return;
    for (const m of msgs) if (!drop(m)) nodes.get(m.to)?.rn.step(m);
  }
  throw new Error('did not stabilize');
}

const leaders = (nodes: Map<string, TestNode>) => [...nodes.values()].filter((n) => n.rn.raft.state === 'leader');

describe('raft core', () => {
  it('randomises election timeouts in [election, 2*election)', () => {
    const storage = MemoryStorage.bootstrap({ voters: ['1', '2'], learners: [] });
    const rn = new RawNode({ id: '1', storage, random: new SeededRandom(7), electionTicks: 10 });
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      rn.raft.becomeFollower(rn.raft.term + 1, '');
      seen.add(rn.raft.randomizedElectionTimeout);
    }
    expect(Math.min(...seen)).toBe(10);
    expect(Math.max(...seen)).toBe(19);
  });

  it('elects exactly one leader by ticking alone', () => {
    for (const preVote of [false, true]) {
      const nodes = cluster(['1', '2', '3'], { preVote, checkQuorum: true, seed: 3 });
      for (let t = 0; t < 40 && leaders(nodes).length === 0; t++) {
        for (const n of nodes.values()) n.rn.tick();
        stabilize(nodes);
      }
      expect(leaders(nodes)).toHaveLength(1);
    }
  });

  it('a lone voter leads after one tick', () => {
    const nodes = cluster(['1']);
    nodes.get('1')!.rn.tick();
    expect(nodes.get('1')!.rn.raft.state).toBe('leader');
  });

  it('grants at most one vote per term', () => {
    const nodes = cluster(['1', '2', '3']);
    const n3 = nodes.get('3')!.rn;
    const vote = (from: string) => newMessage({ type: 'MsgVote', from, to: '3', term: 2, index: 1, logTerm: 1 });
    n3.step(vote('1'));
    n3.step(vote('2'));
    const rd = n3.ready();
    expect(rd.messagesAfterPersist.map((m) => [m.to, m.reject])).toEqual([
      ['1', false],
      ['2', true],
    ]);
    // The vote must be durable before it is sent.
    expect(rd.messages).toEqual([]);
    expect(rd.hardState).toMatchObject({ term: 2, vote: '1' });
    expect(rd.mustSync).toBe(true);
  });

  it('a leader counts its own entries toward commit only once persisted', () => {
    const nodes = cluster(['1']);
    const rn = nodes.get('1')!.rn;
    rn.campaign();
    const rd = rn.ready();
    expect(rd.entries).toHaveLength(1);
    expect(rn.raft.raftLog.committed).toBe(1);
    nodes.get('1')!.storage.append(rd.entries);
    rn.advance();
    expect(rn.raft.raftLog.committed).toBe(2);
  });

  it('drops proposals without a leader, forwards them with one', () => {
    const nodes = cluster(['1', '2', '3']);
    expect(() => nodes.get('2')!.rn.propose(new Uint8Array([1]))).toThrow(ProposalDroppedError);
    nodes.get('1')!.rn.campaign();
    stabilize(nodes);
    nodes.get('2')!.rn.propose(new TextEncoder().encode('x'));
    stabilize(nodes);
    for (const n of nodes.values()) expect(n.storage.lastIndex()).toBe(3);
    for (const n of nodes.values()) expect(n.rn.raft.raftLog.committed).toBe(3);
  });

  it('with proposal forwarding disabled, a follower drops proposals and sends no MsgProp (reads still forward)', () => {
    const nodes = cluster(['1', '2', '3'], { disableProposalForwarding: true });
    nodes.get('1')!.rn.campaign();
    stabilize(nodes);
    const follower = nodes.get('2')!.rn;
    expect(() => follower.propose(new Uint8Array([1]))).toThrow(ProposalDroppedError);
    expect(() => follower.proposeConfChange({ type: 'remove', nodeId: '3', addr: '' })).toThrow(ProposalDroppedError);
    follower.readIndex('r1');
    const rd = follower.ready();
    expect([...rd.messages, ...rd.messagesAfterPersist].map((m) => m.type)).toEqual(['MsgReadIndex']);
    follower.advance();
    stabilize(nodes);
    for (const n of nodes.values()) expect(n.storage.lastIndex()).toBe(2);
  });

  it('restarts from storage with its term, vote and log', () => {
    const nodes = cluster(['1', '2', '3']);
    nodes.get('1')!.rn.campaign();
    stabilize(nodes);
    const s = nodes.get('2')!.storage;
    const restarted = new RawNode({ id: '2', storage: s, random: new SeededRandom(1) });
    expect(restarted.raft.hardState()).toEqual({ term: 2, vote: '1', commit: 2 });
    expect(restarted.raft.raftLog.lastIndex()).toBe(2);
    expect(restarted.hasReady()).toBe(true); // committed entries to re-apply from the snapshot on
  });

  it('a stale leader steps down when it hears a higher term', () => {
    const nodes = cluster(['1', '2', '3'], { checkQuorum: true, preVote: true });
    nodes.get('1')!.rn.campaign();
    stabilize(nodes);
    // 2 and 3 move on without 1.
    nodes.get('2')!.rn.raft.becomeFollower(5, '');
    nodes.get('3')!.rn.raft.becomeFollower(5, '');
    nodes.get('1')!.rn.propose(new TextEncoder().encode('stale'));
    stabilize(nodes);
    expect(nodes.get('1')!.rn.raft.state).toBe('follower');
    expect(nodes.get('1')!.rn.raft.term).toBe(5);
  });

  it('refuses a second conf change until the first is applied', () => {
    const nodes = cluster(['1']);
    const rn = nodes.get('1')!.rn;
    rn.campaign();
    stabilize(nodes);
    rn.proposeConfChange({ type: 'addLearner', nodeId: '2', addr: '' });
    rn.proposeConfChange({ type: 'addLearner', nodeId: '3', addr: '' });
    const types = rn.raft.raftLog.unstableEntries().map((e) => e.type);
    expect(types).toEqual(['confChange', 'normal']);
  });
});
