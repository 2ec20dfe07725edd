import { credentials, Server, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../lib/clock.js';
import { waitFor } from '../../../lib/poll.js';
import { SeededRandom } from '../../../lib/random.js';
import { RaftServiceClient, type StreamSnapshotRequest } from '../../../gen/tswarm/v1/raft.js';
import { newMessage, type Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { snapshotChunks } from './snapshot-chunks.js';
import { listenLoopback, shutdown, unusedPort } from './testing/grpc-servers.js';
import { Transport } from './transport.js';

interface Endpoint {
  transport: Transport;
  server: Server;
  received: Message[];
  unreachable: NodeId[];
  snapshotStatus: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function endpoint(
  id: NodeId,
  limits: { queueLengthMax?: number } = {},
  clock?: Clock,
): Promise<Endpoint & { port: number }> {
  const received: Message[] = [];
  const unreachable: NodeId[] = [];
  const snapshotStatus: string[] = [];
  const transport = new Transport({
    id,
    credentials: credentials.createInsecure(),
    random: new SeededRandom(1),
    limits,
    ...(clock ? { clock } : {}),
    handler: {
      receive: (m) => received.push(m),
      unreachable: (to) => unreachable.push(to),
      snapshotStatus: (to, s) => snapshotStatus.push(`${to}:${s}`),
    },
  });
  const server = new Server();
  transport.register(server);
  const port = await listenLoopback(server);
  cleanups.push(
    () => transport.close(),
    () => shutdown(server),
  );
  return { transport, server, received, unreachable, snapshotStatus, port };
}

const heartbeat = (from: NodeId, to: NodeId, commit: number) =>
  newMessage({ type: 'MsgHeartbeat', from, to, term: 1, commit });

describe('raft transport over gRPC', () => {
  it('delivers batches of messages in order between members', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    for (const e of [a, b]) {
      e.transport.setPeer('a', `127.0.0.1:${a.port}`);
      e.transport.setPeer('b', `127.0.0.1:${b.port}`);
    }
    a.transport.send(Array.from({ length: 500 }, (_, i) => heartbeat('a', 'b', i)));
    await waitFor(() => b.received.length === 500, { what: '500 messages at b', timeoutMs: 5000 });
    expect(b.received.map((m) => m.commit)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    b.transport.send([newMessage({ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: 1 })]);
    await waitFor(() => a.received.length === 1, { what: 'the response at a', timeoutMs: 5000 });
    expect(a.unreachable).toEqual([]);
  });

  it('bounds the queue of a down peer and reports every dropped message as unreachable', async () => {
    // A manual clock: the backoff never ends by itself, so "down" holds until the test is done.
    const a = await endpoint('a', { queueLengthMax: 10 }, new ManualClock());
    a.transport.setPeer('b', `127.0.0.1:${await unusedPort()}`);
    // All in one turn of the event loop: 10 are queued, 90 dropped at once.
    a.transport.send(Array.from({ length: 100 }, (_, i) => heartbeat('a', 'b', i)));
    expect(a.unreachable.length).toBe(90);
    await waitFor(() => a.transport.peerState('b')?.down, { what: 'b seen down', timeoutMs: 10_000 });
    const before = a.unreachable.length;
    a.transport.send([heartbeat('a', 'b', 1)]);
    expect(a.unreachable.length).toBe(before + 1);
    expect(a.transport.peerState('b')!.queueLength).toBe(0);
  });

  it('reaches a peer again after it comes back (reconnect with backoff)', async () => {
    const a = await endpoint('a');
    const port = await unusedPort();
    a.transport.setPeer('b', `127.0.0.1:${port}`);
    a.transport.send([heartbeat('a', 'b', 1)]);
    await waitFor(() => a.unreachable.length > 0, { what: 'b unreachable', timeoutMs: 5000 });
    const received: Message[] = [];
    const b = new Transport({
      id: 'b',
      credentials: credentials.createInsecure(),
      handler: { receive: (m) => received.push(m), unreachable() {}, snapshotStatus() {} },
    });
    b.setPeer('a', 'unused');
    const server = new Server();
    b.register(server);
    await listenLoopback(server, port);
    cleanups.push(
      () => b.close(),
      () => shutdown(server),
    );
    await waitFor(
      () => {
        a.transport.send([heartbeat('a', 'b', 2)]);
        return received.length > 0;
      },
      { what: 'a message through after b came back', timeoutMs: 10_000, intervalMs: 100 },
    );
  });

  it('refuses messages from a sender that is not a member', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b'); // b's address book does not hold a
    a.transport.setPeer('b', `127.0.0.1:${b.port}`);
    a.transport.send([heartbeat('a', 'b', 1)]);
    await waitFor(() => a.unreachable.length > 0, { what: 'a told that b refused', timeoutMs: 5000 });
    expect(b.received).toEqual([]);
    expect(b.transport.droppedMessages()).toEqual({ total: 1, byReason: { 'not-a-member': 1 } });
  });

  it('never takes MsgProp or MsgTransferLeader from the network, even from a member; the stream goes on', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    a.transport.setPeer('b', `127.0.0.1:${b.port}`);
    b.transport.setPeer('a', `127.0.0.1:${a.port}`);
    const entries = [{ term: 0, index: 0, type: 'normal' as const, data: new Uint8Array([1]) }];
    a.transport.send([
      newMessage({ type: 'MsgProp', from: 'a', to: 'b', entries }),
      newMessage({ type: 'MsgTransferLeader', from: 'a', to: 'b' }),
      heartbeat('a', 'b', 7),
    ]);
    await waitFor(() => b.received.length === 1, { what: 'the heartbeat at b', timeoutMs: 5000 });
    expect(b.received[0]!.type).toBe('MsgHeartbeat');
    expect(b.transport.droppedMessages()).toEqual({ total: 2, byReason: { 'local-request': 2 } });
    expect(a.unreachable).toEqual([]);
  });

  it('streams a multi-chunk snapshot and reports success', async () => {
    const a = await endpoint('a');
    const b = await endpoint('b');
    a.transport.setPeer('b', `127.0.0.1:${b.port}`);
    b.transport.setPeer('a', `127.0.0.1:${a.port}`);
    const data = new SeededRandom(7).bytes(2.5 * 1024 * 1024);
    const snapshot = { metadata: { index: 50, term: 3, confState: { voters: ['a', 'b'], learners: [] } }, data };
    a.transport.send([newMessage({ type: 'MsgSnap', from: 'a', to: 'b', term: 3, snapshot })]);
    await waitFor(() => a.snapshotStatus.length > 0, { what: 'snapshot status', timeoutMs: 10_000 });
    expect(a.snapshotStatus).toEqual(['b:finish']);
    expect(b.received).toHaveLength(1);
    expect(b.received[0]!.snapshot!.metadata).toEqual(snapshot.metadata);
    expect(Buffer.compare(Buffer.from(b.received[0]!.snapshot!.data), Buffer.from(data))).toBe(0);
  });

  it('rejects a snapshot with a corrupt chunk, and one cut short', async () => {
    const b = await endpoint('b');
    b.transport.setPeer('a', 'unused');
    const client = new RaftServiceClient(`127.0.0.1:${b.port}`, credentials.createInsecure());
    cleanups.push(() => client.close());
    const data = new SeededRandom(3).bytes(3 * 1024 * 1024);
    const m = newMessage({
      type: 'MsgSnap',
      from: 'a',
      to: 'b',
      term: 2,
      snapshot: { metadata: { index: 9, term: 2, confState: { voters: ['a', 'b'], learners: [] } }, data },
    });
    const send = (chunks: StreamSnapshotRequest[]) =>
      new Promise<ServiceError | null>((resolve) => {
        const call = client.streamSnapshot((err) => resolve(err));
        for (const c of chunks) call.write(c);
        call.end();
      });
    const chunks = [...snapshotChunks(m)];
    expect(chunks.length).toBe(4);
    const flipped = Buffer.from(chunks[2]!.data); // a copy, with one bit flipped
    flipped[100] = flipped[100]! ^ 0x01;
    const corrupt = chunks.map((c, i) => (i === 2 ? { ...c, data: flipped } : c));
    expect((await send(corrupt))?.code).toBe(status.DATA_LOSS);
    expect((await send(chunks.slice(0, 3)))?.code).toBe(status.DATA_LOSS);
    expect(b.received).toEqual([]);
    expect(await send(chunks)).toBeNull();
    expect(b.received).toHaveLength(1);
  });
});
