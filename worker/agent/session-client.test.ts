import { afterEach, describe, expect, it } from 'vitest';
import { credentials, Metadata, Server, status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AssignmentsType,
  DispatcherServiceService,
  type AssignmentsRequest,
  type AssignmentsResponse,
  type SessionRequest,
  type SessionResponse,
} from '../../gen/tswarm/v1/dispatcher.js';
import { systemClock } from '../../lib/clock.js';
import { ERROR_CODE_METADATA_KEY } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/poll.js';
import { listenLoopback } from '../../manager/raft/transport/testing/grpc-servers.js';
import { KnownManagers, type ManagerPeer } from '../known-managers.js';
import { bareDescription } from '../testing/node-description.js';
import { SessionClient } from './session-client.js';

const servers: Server[] = [];
const clients: SessionClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.stop();
  for (const s of servers.splice(0)) s.forceShutdown();
});

/**
 * A dispatcher that opens every session (naming `managers`) and keeps it and its assignments
 * stream open until the caller goes; it counts sessions opened and ended by the caller.
 */
async function dispatcher(managers: () => ManagerPeer[] = () => [], refuse?: { refusing: boolean }) {
  const seen = { opened: 0, cancelled: 0 };
  const server = new Server();
  servers.push(server);
  server.addService(DispatcherServiceService, {
    session: (call: ServerWritableStream<SessionRequest, SessionResponse>) => {
      if (refuse?.refusing) {
        // As a manager answers with an error of its own: the code in the trailers (lib/errors.ts).
        const metadata = new Metadata();
        metadata.set(ERROR_CODE_METADATA_KEY, 'NOT_FOUND');
        call.emit('error', { code: status.NOT_FOUND, details: 'node n1 not found on this replica', metadata });
        return;
      }
      seen.opened++;
      call.on('cancelled', () => seen.cancelled++);
      call.write({
        sessionId: `s${seen.opened}`,
        managers: managers().map((m) => ({ ...m, weight: 1 })),
        heartbeatPeriodMs: 1_000,
        nodeSpec: undefined,
        rootCaPem: Buffer.alloc(0),
      });
    },
    assignments: (call: ServerWritableStream<AssignmentsRequest, AssignmentsResponse>) => {
      call.write({
        type: AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE,
        sequence: 1,
        updatedTasks: [],
        removedTaskIds: [],
      });
    },
  });
  const addr = `127.0.0.1:${await listenLoopback(server)}`;
  return { addr, server, seen };
}

function sessionClient(known: KnownManagers) {
  const complete: number[] = [];
  const client = new SessionClient({
    managers: () => known.candidates(),
    managerFailed: (addr) => known.failed(addr),
    onManagers: (peers) => known.learn(peers),
    credentials: () => credentials.createInsecure(),
    description: () => bareDescription(),
    clock: systemClock,
    log: silentLogger(),
    onAssignments: (m) => complete.push(m.sequence),
    random: () => 0,
  });
  clients.push(client);
  client.start();
  return { client, complete };
}

describe('SessionClient: moving off a manager', () => {
  it('moves its session at once when the heartbeats find its manager unreachable', async () => {
    const a = await dispatcher();
    const b = await dispatcher();
    const known = new KnownManagers({ joinAddrs: [a.addr, b.addr] });
    const { client, complete } = sessionClient(known);
    await waitFor(() => client.manager() === a.addr && complete.length === 1, {
      what: 'a session through a',
      timeoutMs: 5_000,
    });
    // What the heartbeat loop does when a beat to `a` times out: a goes last, and the session is told.
    known.failed(a.addr);
    client.managerUnreachable(a.addr);
    await waitFor(() => client.manager() === b.addr && complete.length === 2, {
      what: 'a session through b',
      timeoutMs: 5_000,
    });
    await waitFor(() => a.seen.cancelled === 1, { what: 'the session through a ended', timeoutMs: 5_000 });
    expect(b.seen.opened).toBe(1);
    // Told about another manager, it stays where it is.
    client.managerUnreachable(a.addr);
    expect(client.manager()).toBe(b.addr);
  });

  it('leaves a manager that dies, reports it failed, and keeps the managers a session names', async () => {
    let b = { addr: '' };
    const a = await dispatcher(() => [
      { nodeId: 'ma', addr: a.addr },
      { nodeId: 'mb', addr: b.addr },
    ]);
    b = await dispatcher();
    // The node knows only a (its join address): the session's first message names b.
    const known = new KnownManagers({ joinAddrs: [a.addr] });
    const { client } = sessionClient(known);
    await waitFor(() => client.manager() === a.addr, { what: 'a session through a', timeoutMs: 5_000 });
    expect(known.peers()).toEqual([
      { nodeId: 'ma', addr: a.addr },
      { nodeId: 'mb', addr: b.addr },
    ]);
    a.server.forceShutdown();
    await waitFor(() => client.manager() === b.addr, { what: 'a session through b', timeoutMs: 10_000 });
    // a refused the next attempt: the shared order now puts it last, for the heartbeats too.
    expect(known.candidates()).toEqual([b.addr, a.addr]);
  });

  it('a manager that refuses the session goes last in the shared order, so the heartbeats follow the session', async () => {
    const refuse = { refusing: true };
    const a = await dispatcher(() => [], refuse);
    const b = await dispatcher();
    const known = new KnownManagers({ joinAddrs: [a.addr, b.addr] });
    const { client } = sessionClient(known);
    await waitFor(() => client.manager() === b.addr, { what: 'a session through b', timeoutMs: 5_000 });
    // The heartbeats beat through the order's first: b, where the session is, not a.
    expect(known.candidates()[0]).toBe(b.addr);
    expect(a.seen.opened).toBe(0);
  });

  it('a session open elsewhere than the heartbeats for three beats in a row moves to their manager', async () => {
    const a = await dispatcher();
    const b = await dispatcher();
    const known = new KnownManagers({ joinAddrs: [a.addr, b.addr] });
    const { client } = sessionClient(known);
    await waitFor(() => client.manager() === a.addr, { what: 'a session through a', timeoutMs: 5_000 });
    // A beat refused by a (a lagging replica): the beats move to b; the session stays for now.
    known.failed(a.addr);
    client.heartbeatsAnsweredBy(b.addr);
    client.heartbeatsAnsweredBy(b.addr);
    expect(client.manager()).toBe(a.addr);
    client.heartbeatsAnsweredBy(b.addr);
    await waitFor(() => client.manager() === b.addr, { what: 'the session through b', timeoutMs: 5_000 });
    expect(a.seen.cancelled).toBe(1);
    // Beats through its own manager leave it where it is.
    for (let i = 0; i < 5; i++) client.heartbeatsAnsweredBy(b.addr);
    expect(client.manager()).toBe(b.addr);
    expect(b.seen.opened).toBe(1);
  });
});
