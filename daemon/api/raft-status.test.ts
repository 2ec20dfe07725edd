import { describe, expect, it } from 'vitest';
import { raftStatusShape } from './raft-status.js';

describe('GET /tswarm/raft', () => {
  it("shows the member's term, leader and configuration, and what the transport dropped by reason", () => {
    const shape = raftStatusShape(
      {
        id: 'm1',
        term: 4,
        leader: 'm2',
        leaderAddr: '192.168.77.12:2377',
        role: 'follower',
        commit: 31,
        applied: 30,
        voters: ['m1', 'm2', 'm3'],
        learners: ['w1'],
      },
      { total: 3, byReason: { 'not-a-member': 2, 'local-request': 1 } },
    );
    expect(shape).toEqual({
      NodeID: 'm1',
      Term: 4,
      Leader: 'm2',
      Role: 'follower',
      Commit: 31,
      Applied: 30,
      Voters: ['m1', 'm2', 'm3'],
      Learners: ['w1'],
      DroppedMessages: { Total: 3, ByReason: { 'not-a-member': 2, 'local-request': 1 } },
    });
  });
});
