import { afterEach, describe, expect, it } from 'vitest';
import { credentials, Server } from '@grpc/grpc-js';
import { DispatcherServiceService, HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import { NodeRole } from '../gen/tswarm/v1/objects.js';
import { ManualClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import { listenLoopback } from '../manager/raft/transport/testing/grpc-servers.js';
import { HeartbeatLoop, initialHeartbeatManagers } from './heartbeat-loop.js';

describe('initialHeartbeatManagers', () => {
  it('has a worker beat the managers it joined through', () => {
    expect(initialHeartbeatManagers(undefined, ['192.168.77.11:2377'])).toEqual(['192.168.77.11:2377']);
  });

  it('has a manager beat itself first, then the managers it joined through, so a lagging replica is not the only judge', () => {
    expect(initialHeartbeatManagers('127.0.0.1:2377', ['192.168.77.11:2377'])).toEqual([
      '127.0.0.1:2377',
      '192.168.77.11:2377',
    ]);
  });

  it('has the manager that made the swarm (it joined through no one) beat itself alone', () => {
    expect(initialHeartbeatManagers('127.0.0.1:2377', [])).toEqual(['127.0.0.1:2377']);
  });
});

describe('HeartbeatLoop: which manager it expects at each address', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.forceShutdown();
  });

  it('expects any manager at the first contact, then the one each answer names there, else one it knows', async () => {
    const server = new Server();
    servers.push(server);
    server.addService(DispatcherServiceService, {
      heartbeat: (_call: unknown, cb: (e: null, r: HeartbeatResponse) => void) =>
        cb(
          null,
          HeartbeatResponse.fromPartial({
            periodMs: 1_000,
            desiredRole: NodeRole.NODE_ROLE_WORKER,
            managers: [
              { nodeId: 'm1', addr: joinAddr },
              { nodeId: 'm2', addr: '10.0.0.2:2377' },
            ],
          }),
        ),
    });
    const joinAddr = `127.0.0.1:${await listenLoopback(server)}`;
    const dialled: ExpectedManager[] = [];
    const clock = new ManualClock();
    const answered: HeartbeatResponse[] = [];
    const loop = new HeartbeatLoop({
      managers: [joinAddr],
      knownManagers: [],
      credentials: (expected) => {
        dialled.push(expected);
        return credentials.createInsecure();
      },
      description: () => ({
        hostname: 'w1',
        platform: undefined,
        resources: undefined,
        engineVersion: '',
        engineLabels: {},
      }),
      clock,
      log: silentLogger(),
      onResponse: (res) => answered.push(res),
      onRemoved: () => undefined,
    });
    expect(loop.expectedAt(joinAddr)).toEqual({ addr: joinAddr, nodeIds: [] });
    loop.start();
    clock.advance(0);
    await waitFor(() => answered.length > 0, { what: 'a heartbeat answer', timeoutMs: 5_000 });
    loop.stop();
    expect(dialled).toEqual([{ addr: joinAddr, nodeIds: [] }]);
    expect(loop.expectedAt(joinAddr)).toEqual({ addr: joinAddr, nodeIds: ['m1'] });
    expect(loop.expectedAt('10.0.0.2:2377')).toEqual({ addr: '10.0.0.2:2377', nodeIds: ['m2'] });
    expect(loop.expectedAt('10.0.0.9:2377')).toEqual({ addr: '10.0.0.9:2377', nodeIds: ['m1', 'm2'] });
  });

  it('knows a manager’s own local manager from the start, and keeps it after answers', () => {
    const loop = new HeartbeatLoop({
      managers: ['127.0.0.1:2377'],
      knownManagers: [{ nodeId: 'self', addr: '127.0.0.1:2377' }],
      credentials: () => credentials.createInsecure(),
      description: () => ({
        hostname: 'm1',
        platform: undefined,
        resources: undefined,
        engineVersion: '',
        engineLabels: {},
      }),
      clock: new ManualClock(),
      log: silentLogger(),
      onResponse: () => undefined,
      onRemoved: () => undefined,
    });
    expect(loop.expectedAt('127.0.0.1:2377')).toEqual({ addr: '127.0.0.1:2377', nodeIds: ['self'] });
    expect(loop.expectedAt('10.0.0.9:2377')).toEqual({ addr: '10.0.0.9:2377', nodeIds: ['self'] });
  });
});
