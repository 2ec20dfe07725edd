import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../lib/poll.js';
import { unusedPort } from '../../../manager/raft/transport/testing/grpc-servers.js';
import type { NodeId } from '../../../manager/raft/core/types.js';
import { KvClient } from './client.js';
import { startKvMember, type KvMember } from './member.js';
import { KvServiceDefinition, type PutStreamRequest, type PutStreamResponse } from './service.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Cluster {
  members: Map<NodeId, KvMember>;
  peers: Map<NodeId, string>;
  client: KvClient;
  leader: () => Promise<NodeId>;
}

async function startCluster(ids: NodeId[]): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-kvserver-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const peers = new Map<NodeId, string>();
  for (const id of ids) peers.set(id, `127.0.0.1:${await unusedPort()}`);
  const members = new Map<NodeId, KvMember>();
  cleanups.push(async () => {
    for (const m of members.values()) await m.stop();
  });
  for (const id of ids) {
    members.set(
      id,
      await startKvMember({ id, dataDir: join(dir, id), listen: peers.get(id)!, peers, node: { tickMs: 20 } }),
    );
  }
  const client = new KvClient({ endpoints: peers, credentials: credentials.createInsecure(), requestTimeoutMs: 2000 });
  cleanups.push(() => client.close());
  const leader = () =>
    waitFor(() => [...members.values()].find((m) => m.node.status().role === 'leader')?.node.id, {
      what: 'a leader',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  return { members, peers, client, leader };
}

describe('kv server and client', () => {
  it('writes through whichever member leads, and keeps going when the leader stops', async () => {
    const { members, client, leader } = await startCluster(['n1', 'n2', 'n3']);
    const sessions = Array.from({ length: 8 }, () => client.session());
    await Promise.all(
      sessions.map(async (s, i) => {
        for (let j = 0; j < 10; j++) await s.put(`k${i}`, `v${i}-${j}`);
      }),
    );
    expect(await sessions[0]!.get('k7')).toBe('v7-9');

    const old = await leader();
    await members.get(old)!.stop();
    members.delete(old);
    // The client finds the new leader by itself (connection refused, then a not-leader hint).
    await sessions[1]!.put('k1', 'after failover');
    expect(await sessions[2]!.get('k1')).toBe('after failover');
    expect(await leader()).not.toBe(old);
  });

  it('coalesces concurrent sessions into batch requests, across a leader change', async () => {
    const { members, peers, leader } = await startCluster(['n1', 'n2', 'n3']);
    const client = new KvClient({
      endpoints: peers,
      credentials: credentials.createInsecure(),
      requestTimeoutMs: 2000,
      coalesce: true,
    });
    cleanups.push(() => client.close());
    const sessions = Array.from({ length: 32 }, () => client.session());
    const round = (tag: string) => Promise.all(sessions.map((s, i) => s.put(`k${i}`, `${tag}${i}`)));
    await round('a');
    const old = await leader();
    await members.get(old)!.stop();
    members.delete(old);
    await round('b');
    const values = await Promise.all(sessions.map((s, i) => s.get(`k${i}`)));
    expect(values).toEqual(sessions.map((_, i) => `b${i}`));
  });

  it('never applies a retried command twice', async () => {
    const { client } = await startCluster(['n1', 'n2', 'n3']);
    await client.call('put', { clientId: 'c', seq: 1, key: 'k', value: 'first' });
    await client.call('put', { clientId: 'c', seq: 2, key: 'k', value: 'second' });
    // A late retry of command 1 (say its answer was lost) must not overwrite command 2.
    await client.call('put', { clientId: 'c', seq: 1, key: 'k', value: 'first' });
    expect(await client.session().get('k')).toBe('second');
  });

  it('refuses malformed requests without retrying', async () => {
    const { client } = await startCluster(['solo']);
    await expect(client.call('put', { clientId: 'c', seq: -1, key: 'k', value: 'v' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('answers each put on a stream by its id, naming the leader from a follower, and fails a stream whose put has no id', async () => {
    const { members, peers, leader } = await startCluster(['n1', 'n2', 'n3']);
    const lead = await leader();
    const follower = [...members.keys()].find((id) => id !== lead)!;
    const Stub = makeGenericClientConstructor(KvServiceDefinition, 'tswarm.raftkv.Kv');
    const open = (id: NodeId) => {
      const stub = new Stub(peers.get(id)!, credentials.createInsecure());
      cleanups.push(() => stub.close());
      return (stub as unknown as { putStream(): ClientDuplexStream<PutStreamRequest, PutStreamResponse> }).putStream();
    };
    const answers = (call: ClientDuplexStream<PutStreamRequest, PutStreamResponse>, n: number) =>
      new Promise<PutStreamResponse[]>((resolve, reject) => {
        const got: PutStreamResponse[] = [];
        call.on('data', (res: PutStreamResponse) => got.push(res) === n && resolve(got));
        call.on('error', reject);
      });

    const toLeader = open(lead);
    const led = answers(toLeader, 2);
    toLeader.write({ id: 7, clientId: 'c', seq: 1, key: 'a', value: '1' });
    toLeader.write({ id: 8, clientId: 'c', seq: 2, key: 'a', value: '2' });
    expect((await led).sort((x, y) => x.id - y.id)).toEqual([
      { id: 7, ok: true },
      { id: 8, ok: true },
    ]);
    toLeader.end();

    const toFollower = open(follower);
    const redirected = answers(toFollower, 1);
    toFollower.write({ id: 1, clientId: 'c', seq: 3, key: 'a', value: '3' });
    expect(await redirected).toEqual([
      expect.objectContaining({ id: 1, errorCode: 'FAILED_PRECONDITION', leader: lead }),
    ]);
    toFollower.end();

    const bad = open(lead);
    const failed = answers(bad, 1);
    bad.write({ clientId: 'c', seq: 4, key: 'a', value: '4' } as PutStreamRequest);
    await expect(failed).rejects.toMatchObject({
      details: expect.stringContaining('non-negative integer id'),
    } satisfies Partial<ServiceError>);
  });
});
