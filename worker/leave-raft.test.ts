import { afterEach, describe, expect, it } from 'vitest';
import { credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { RaftMembershipServiceService, type LeaveRaftRequest } from '../gen/tswarm/v1/raft.js';
import { TswarmError } from '../lib/errors.js';
import { unaryHandler } from '../lib/grpc.js';
import { rejectedCode } from '../lib/testing/error-codes.js';
import { leaveRaftThroughLeader } from './leave-raft.js';

// A plain-text manager stand-in on 127.0.0.1 whose LeaveRaft answers as the test says.
let server: Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

async function managerAnswering(answer: (req: LeaveRaftRequest, attempt: number) => Promise<object>): Promise<string> {
  let attempt = 0;
  server = new Server();
  server.addService(RaftMembershipServiceService, {
    joinRaft: unaryHandler(async () => {
      throw new TswarmError('UNIMPLEMENTED', 'not in this test');
    }),
    leaveRaft: unaryHandler((req: LeaveRaftRequest) => answer(req, ++attempt)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

const leave = (managerAddr: string, deadlineMs: number) =>
  leaveRaftThroughLeader({ managerAddr, credentials: credentials.createInsecure(), nodeId: 'm2', deadlineMs });

describe('leaving Raft through the leader', () => {
  it('asks for its own node, and retries an UNAVAILABLE answer (no leader, a change in flight) until it is out', async () => {
    const asked: string[] = [];
    const addr = await managerAnswering(async (req, attempt) => {
      asked.push(req.nodeId);
      if (attempt < 3) throw new TswarmError('UNAVAILABLE', 'another membership change was in progress. Try again');
      return {};
    });
    await leave(addr, 10_000);
    expect(asked).toEqual(['m2', 'm2', 'm2']);
  });

  it('gives up at the deadline with the last error, and at once on an error a retry cannot fix', async () => {
    const unavailable = await managerAnswering(async () => {
      throw new TswarmError('UNAVAILABLE', 'no leader');
    });
    const started = Date.now();
    expect(await rejectedCode(leave(unavailable, 1_200))).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
    server!.forceShutdown();

    let attempts = 0;
    const denied = await managerAnswering(async () => {
      attempts++;
      throw new TswarmError('PERMISSION_DENIED', 'a manager may only take itself out of Raft');
    });
    expect(await rejectedCode(leave(denied, 10_000))).toBe('PERMISSION_DENIED');
    expect(attempts).toBe(1);
  });
});
