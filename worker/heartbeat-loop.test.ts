import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { credentials, Server, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { DispatcherServiceService, HeartbeatResponse, type HeartbeatRequest } from '../gen/tswarm/v1/dispatcher.js';
import { NodeRole } from '../gen/tswarm/v1/objects.js';
import { ManualClock } from '../lib/clock.js';
import { TswarmError } from '../lib/errors.js';
import { unaryHandler } from '../lib/grpc.js';
import { newId } from '../lib/ids.js';
import { silentLogger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import { clientCredentials, serverCredentials, TlsMaterialProvider } from '../lib/tls.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import { createRootCA } from '../manager/ca/root-ca.js';
import { nodeTlsMaterial } from '../manager/ca/testing/node-material.js';
import { bareDescription } from './testing/node-description.js';
import { listenLoopback, unusedPort } from '../manager/raft/transport/testing/grpc-servers.js';
import { beatDeadlineMs, HeartbeatLoop, type HeartbeatLoopOptions } from './heartbeat-loop.js';
import { KnownManagers, type ManagerPeer } from './known-managers.js';

type Handler = (
  call: ServerUnaryCall<HeartbeatRequest, HeartbeatResponse>,
  cb: sendUnaryData<HeartbeatResponse>,
) => void;

const servers: Server[] = [];
const loops: HeartbeatLoop[] = [];
afterEach(() => {
  for (const l of loops.splice(0)) l.stop();
  for (const s of servers.splice(0)) s.forceShutdown();
});

/** A dispatcher on 127.0.0.1 whose heartbeat handler is `heartbeat`; counts the beats it got. */
async function dispatcher(
  heartbeat: Handler,
  creds?: TlsMaterialProvider,
): Promise<{ addr: string; beats: () => number }> {
  let beats = 0;
  const server = new Server();
  servers.push(server);
  server.addService(DispatcherServiceService, {
    heartbeat: (call: ServerUnaryCall<HeartbeatRequest, HeartbeatResponse>, cb: sendUnaryData<HeartbeatResponse>) => {
      beats++;
      heartbeat(call, cb);
    },
  });
  const port = creds
    ? await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', serverCredentials(creds), (e, p) => (e ? reject(e) : resolve(p))),
      )
    : await listenLoopback(server);
  return { addr: `127.0.0.1:${port}`, beats: () => beats };
}

const answering =
  (managers: () => ManagerPeer[] = () => []): Handler =>
  (_call, cb) =>
    cb(
      null,
      HeartbeatResponse.fromPartial({
        periodMs: 1_000,
        desiredRole: NodeRole.NODE_ROLE_WORKER,
        managers: managers().map((m) => ({ ...m, weight: 1 })),
      }),
    );

/** Never answers: a manager that hangs (stopped, or its leader unreachable behind it). */
const hanging: Handler = () => undefined;

function loop(managers: KnownManagers, overrides: Partial<HeartbeatLoopOptions> = {}) {
  const clock = new ManualClock();
  const answered: HeartbeatResponse[] = [];
  const unreachable: string[] = [];
  const l = new HeartbeatLoop({
    managers,
    credentials: () => credentials.createInsecure(),
    description: () => bareDescription(),
    clock,
    log: silentLogger(),
    onResponse: (res) => answered.push(res),
    onRemoved: () => undefined,
    onUnreachable: (addr) => unreachable.push(addr),
    ...overrides,
  });
  loops.push(l);
  return { l, clock, answered, unreachable };
}

describe('beatDeadlineMs', () => {
  it('gives a beat three quarters of the period, within bounds', () => {
    expect(beatDeadlineMs(1_000)).toBe(750);
    expect(beatDeadlineMs(100)).toBe(250);
    expect(beatDeadlineMs(60_000)).toBe(10_000);
    // A hung manager is left, and the next reached, long before the leader's 3 missed periods.
    expect(1_000 + beatDeadlineMs(1_000) * 2).toBeLessThan(3 * 1_000);
  });
});

describe('HeartbeatLoop', () => {
  it('dials with the expectation it knows, learns the managers and their node IDs from the answer', async () => {
    const m2 = { nodeId: 'm2', addr: '10.0.0.2:2377' };
    let joinAddr = '';
    const server = await dispatcher(answering(() => [{ nodeId: 'm1', addr: joinAddr }, m2]));
    joinAddr = server.addr;
    const dialled: ExpectedManager[] = [];
    const known = new KnownManagers({ joinAddrs: [joinAddr] });
    const { l, clock, answered } = loop(known, {
      credentials: (expected) => {
        dialled.push(expected);
        return credentials.createInsecure();
      },
    });
    l.start();
    clock.advance(0);
    await waitFor(() => answered.length > 0, { what: 'a heartbeat answer', timeoutMs: 5_000 });
    // The first contact after a join, knowing no manager yet: any manager of the cluster.
    expect(dialled).toEqual([{ addr: joinAddr, nodeIds: [] }]);
    expect(known.expectedAt(joinAddr).nodeIds).toEqual(['m1']);
    expect(known.candidates()).toEqual([joinAddr, m2.addr]);
    expect(l.manager()).toEqual({ addr: joinAddr, nodeId: 'm1' });
  });

  it('moves past a dead and a hung manager within the same period, and reports both unreachable', async () => {
    const dead = `127.0.0.1:${await unusedPort()}`;
    const hung = await dispatcher(hanging);
    const alive = await dispatcher(answering());
    const known = new KnownManagers({ joinAddrs: [dead, hung.addr, alive.addr] });
    const { l, clock, answered, unreachable } = loop(known);
    l.start();
    clock.advance(0);
    // The clock stays put: no period passes, so the answer came in the first period's round.
    await waitFor(() => answered.length > 0, { what: 'a heartbeat answer', timeoutMs: 10_000 });
    expect(unreachable).toEqual([dead, hung.addr]);
    expect(hung.beats()).toBe(1);
    expect(alive.beats()).toBe(1);
    // The one that answered is in use, first in the order the session shares; the failed ones last.
    expect(known.candidates()).toEqual([alive.addr, dead, hung.addr]);
    expect(l.manager()?.addr).toBe(alive.addr);
    expect(l.lastError).toBeUndefined();
    // The next period goes straight to it.
    clock.advance(1_000);
    await waitFor(() => answered.length > 1, { what: 'a second answer', timeoutMs: 5_000 });
    expect(hung.beats()).toBe(1);
  });

  it('leaves a manager that answered with an error at the next beat, not at once', async () => {
    const noLeader = await dispatcher(
      unaryHandler(async () => {
        throw new TswarmError('UNAVAILABLE', 'no leader: an election is under way');
      }),
    );
    const alive = await dispatcher(answering());
    const known = new KnownManagers({ joinAddrs: [noLeader.addr, alive.addr] });
    const { l, clock, answered, unreachable } = loop(known);
    l.start();
    clock.advance(0);
    await waitFor(() => noLeader.beats() === 1 && l.lastError !== undefined, {
      what: 'the refused beat',
      timeoutMs: 5_000,
    });
    expect(l.lastError).toContain('no leader');
    expect(alive.beats()).toBe(0);
    expect(unreachable).toEqual([]);
    clock.advance(1_000);
    await waitFor(() => answered.length > 0, { what: 'the next beat answered', timeoutMs: 5_000 });
    expect(alive.beats()).toBe(1);
  });

  it('believes a removal only after three answers, from the managers in turn', async () => {
    const removed = unaryHandler(async () => {
      throw new TswarmError('NODE_REMOVED', 'node w1 was removed from the swarm');
    });
    const a = await dispatcher(removed);
    const b = await dispatcher(removed);
    const known = new KnownManagers({ joinAddrs: [a.addr, b.addr] });
    const removals: string[] = [];
    const { l, clock } = loop(known, { onRemoved: (m) => removals.push(m) });
    l.start();
    for (let beat = 1; beat <= 3; beat++) {
      clock.advance(beat === 1 ? 0 : 1_000);
      await waitFor(() => a.beats() + b.beats() === beat, { what: `beat ${beat} refused`, timeoutMs: 5_000 });
    }
    await waitFor(() => removals.length === 1, { what: 'the removal believed', timeoutMs: 5_000 });
    expect([a.beats(), b.beats()]).toEqual([2, 1]);
  });
});

describe('HeartbeatLoop: a revoked certificate', () => {
  it('asks for a renewal when a manager refuses this node’s certificate as revoked, and is not removed by it', async () => {
    const revoked = unaryHandler(async () => {
      throw new TswarmError('CERTIFICATE_REVOKED', 'certificate serial 1f is revoked');
    });
    const a = await dispatcher(revoked);
    const asked: number[] = [];
    const removals: string[] = [];
    const { l, clock } = loop(new KnownManagers({ joinAddrs: [a.addr] }), {
      onCertificateRevoked: () => asked.push(a.beats()),
      onRemoved: (m) => removals.push(m),
    });
    l.start();
    for (let beat = 1; beat <= 4; beat++) {
      clock.advance(beat === 1 ? 0 : 1_000);
      await waitFor(() => asked.length === beat, { what: `renewal asked after beat ${beat}`, timeoutMs: 5_000 });
    }
    expect(removals).toEqual([]);
  });
});

describe('HeartbeatLoop over mutual TLS: the persisted managers are who it expects', () => {
  it('refuses an address whose server presents another manager’s certificate than the file names, and beats the next', async () => {
    const ca = await createRootCA();
    const clusterId = newId();
    const [idA, idB, idX] = [newId(), newId(), newId()];
    // X: a manager of the cluster, or a removed one whose certificate is still valid — not B.
    const impostor = await dispatcher(
      answering(),
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: idX, role: 'manager', clusterId })),
    );
    const real = await dispatcher(
      answering(),
      new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: idA, role: 'manager', clusterId })),
    );
    const worker = new TlsMaterialProvider(await nodeTlsMaterial(ca, { nodeId: newId(), role: 'worker', clusterId }));
    // managers.json, as a previous run wrote it — or as an attacker edited it: B "at" X's address.
    const known = new KnownManagers({
      persisted: [
        { nodeId: idB, addr: impostor.addr },
        { nodeId: idA, addr: real.addr },
      ],
      joinAddrs: [impostor.addr],
    });
    const errors: string[] = [];
    const { l, clock, answered, unreachable } = loop(known, {
      credentials: (expected) => clientCredentials(worker, expected),
      log: pino(
        { level: 'debug' },
        { write: (line: string) => void errors.push((JSON.parse(line) as { err?: string }).err ?? '') },
      ),
    });
    l.start();
    clock.advance(0);
    await waitFor(() => answered.length > 0, { what: 'a beat answered by the real manager', timeoutMs: 10_000 });
    // The TLS check refused the impostor before any call reached it.
    expect(impostor.beats()).toBe(0);
    expect(real.beats()).toBe(1);
    expect(unreachable).toEqual([impostor.addr]);
    expect(errors.join('\n')).toContain(`presented node ${idX}'s certificate, expected one of ${idB}`);
    expect(l.manager()).toEqual({ addr: real.addr, nodeId: idA });
  });
});
