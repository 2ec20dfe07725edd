import { credentials, Server } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftMembershipServiceService, type JoinRaftRequest } from '../../gen/tswarm/v1/raft.js';
import { listenLoopback, unusedPort } from '../raft/transport/testing/grpc-servers.js';
import { ASK_WHO_LEADS_EVERY_MS, askWhoLeads, shouldAskWhoLeads } from './who-leads.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.forceShutdown();
});

describe('shouldAskWhoLeads', () => {
  const asked = { atMs: 1_000, refusedNonMembers: 3 };
  it.each([
    { what: 'no leader, a non-member refused, never asked', hasLeader: false, refused: 1, last: undefined, ask: true },
    { what: 'a leader', hasLeader: true, refused: 9, last: undefined, ask: false },
    { what: 'no non-member refused since the last question', hasLeader: false, refused: 3, last: asked, ask: false },
    { what: 'nothing refused at all', hasLeader: false, refused: 0, last: undefined, ask: false },
    { what: 'asked within the interval', hasLeader: false, refused: 5, last: asked, ask: false, atMs: 1_500 },
    { what: 'asked an interval ago', hasLeader: false, refused: 5, last: asked, ask: true },
  ])('$what: $ask', ({ hasLeader, refused, last, ask, atMs }) => {
    const nowMs = atMs ?? 1_000 + ASK_WHO_LEADS_EVERY_MS;
    expect(shouldAskWhoLeads({ hasLeader, refusedNonMembers: refused, nowMs }, last)).toBe(ask);
  });
});

describe('askWhoLeads', () => {
  it('asks each manager in turn until one answers, with this member’s Raft address', async () => {
    const asked: JoinRaftRequest[] = [];
    const server = new Server();
    servers.push(server);
    server.addService(RaftMembershipServiceService, {
      joinRaft: (call: { request: JoinRaftRequest }, cb: (e: null, r: unknown) => void) => {
        asked.push(call.request);
        cb(null, { members: [{ nodeId: 'n4', addr: '10.0.0.4:2377', learner: false }], appliedIndex: 42 });
      },
      leaveRaft: (_call: unknown, cb: (e: null, r: unknown) => void) => cb(null, {}),
    });
    const port = await listenLoopback(server);
    const dialled: string[] = [];
    const managerAddrs = [`127.0.0.1:${await unusedPort()}`, `127.0.0.1:${port}`];
    const answer = await askWhoLeads({
      managerAddrs,
      advertiseAddr: '10.0.0.3:2377',
      credentials: (addr) => {
        dialled.push(addr);
        return credentials.createInsecure();
      },
      deadlineMs: 5_000,
    });
    expect(answer).toEqual({ members: [{ nodeId: 'n4', addr: '10.0.0.4:2377', learner: false }], appliedIndex: 42 });
    expect(asked).toEqual([{ addr: '10.0.0.3:2377' }]);
    // Credentials are made per address, so each dial can expect the member known there.
    expect(dialled).toEqual(managerAddrs);
  });

  it('says plainly when no manager answers', async () => {
    const err = await askWhoLeads({
      managerAddrs: [`127.0.0.1:${await unusedPort()}`],
      advertiseAddr: '10.0.0.3:2377',
      credentials: () => credentials.createInsecure(),
      deadlineMs: 2_000,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('no manager answered') });
  });
});
