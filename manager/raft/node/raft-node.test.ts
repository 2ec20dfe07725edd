import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../lib/poll.js';
import { NotLeaderError } from './errors.js';
import { unusedPort } from '../transport/testing/grpc-servers.js';
import { put, TestCluster, type Member } from './testing/test-cluster.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function putMany(leader: Member, from: number, count: number): Promise<number> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) => leader.node.propose(put('c', from + i, `k${from + i}`, `v${from + i}`))),
  );
  expect(results.every((r) => r.ok)).toBe(true);
  return leader.node.status().applied;
}

describe('raft node loop', () => {
  it('elects, replicates, fails over, restarts from disk and catches up', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const first = await cluster.leader();
    let applied = await putMany(first, 1, 200);
    await cluster.waitApplied(applied);
    for (const m of cluster.members.values()) expect(m.sm.get('k200')).toBe('v200');

    await cluster.stopMember(first.id);
    const second = await cluster.leader();
    expect(second.id).not.toBe(first.id);
    applied = await putMany(second, 201, 50);
    await cluster.waitApplied(applied);

    const back = await cluster.start(first.id);
    await cluster.waitApplied(applied);
    expect(back.sm.get('k1')).toBe('v1');
    expect(back.sm.get('k250')).toBe('v250');
    expect(back.node.status().leader).toBe(second.id);
  });

  it('tells a new leader it leads only once it has applied every entry of earlier terms in its log', async () => {
    // A new leader's log may end with entries its predecessor committed (or appended) that it has
    // not applied yet: it learns they are committed only when its own term's first entry commits.
    // Leader-only components started before that would plan from a stale state (an orchestrator
    // would make a second task for every slot the old leader had just made), so the signal waits.
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    const seenWhenLeading: { id: string; value: string | undefined }[] = [];
    cluster.roleObserver = (m, role) => {
      if (role.leading) seenWhenLeading.push({ id: m.id, value: m.sm.get('last') });
    };
    await cluster.startAll();
    for (let round = 1; round <= 3; round++) {
      const leader = await cluster.leader();
      await putMany(leader, round * 1000, 50);
      // The last write is committed (its proposal resolved) just before the leader goes away,
      // likely before the followers heard of that commit.
      const v = `round${round}`;
      await leader.node.propose(put('c', round * 1000 + 999, 'last', v));
      await cluster.stopMember(leader.id);
      seenWhenLeading.length = 0;
      const next = await cluster.leader();
      await waitFor(() => seenWhenLeading.some((s) => s.id === next.id), {
        what: 'the leadership signal',
        timeoutMs: 5000,
      });
      expect(seenWhenLeading.find((s) => s.id === next.id)!.value).toBe(v);
      await cluster.start(leader.id);
    }
  });

  it('catches up a member that fell behind a snapshot and compaction', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3'], { snapshotEveryEntries: 50, compactionLagEntries: 0 });
    await cluster.startAll();
    const leader = await cluster.leader();
    const lagging = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await cluster.stopMember(lagging.id);
    const applied = await putMany(leader, 1, 300);
    await waitFor(() => leader.node.snapshotIndex() >= 250, { what: 'a snapshot on the leader', timeoutMs: 5000 });
    const back = await cluster.start(lagging.id);
    await cluster.waitApplied(applied);
    expect(back.sm.get('k300')).toBe('v300');
    expect(back.node.snapshotIndex()).toBeGreaterThan(1); // it installed the leader's snapshot
  });

  it('takes snapshots at the interval the replicated state asks for now, changed at run time', async () => {
    let intervalNow: number | undefined = undefined; // as a manager reads its cluster spec: unset until applied
    cluster = await TestCluster.create(['solo'], {
      snapshotEveryEntries: 100_000,
      snapshotEveryEntriesNow: () => intervalNow,
    });
    await cluster.startAll();
    const solo = await cluster.leader(2000);
    await putMany(solo, 1, 60);
    expect(solo.node.snapshotIndex()).toBeLessThan(60); // the default interval: none yet
    intervalNow = 25;
    const applied = await putMany(solo, 61, 30);
    await waitFor(() => solo.node.snapshotIndex() >= applied - 25, {
      what: 'a snapshot at the new interval',
      timeoutMs: 5000,
    });
  });

  it('rejects proposals and leadership transfers on a follower, naming the leader and its address', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const leader = await cluster.leader();
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    const err = await follower.node.propose(put('c', 1, 'k', 'v')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(leader.id);
    expect((err as NotLeaderError).leaderAddr).toBe(cluster.addresses.get(leader.id));
    // Nor a leadership transfer: the core would forward MsgTransferLeader, which no transport takes.
    expect(await follower.node.transferLeadership(leader.id).catch((e: unknown) => e)).toBeInstanceOf(NotLeaderError);
    // Reads are linearizable from any member: a follower's ReadIndex is confirmed by the leader.
    await leader.node.propose(put('c', 1, 'k', 'v'));
    await follower.node.readIndex();
    expect(follower.sm.get('k')).toBe('v');
  });

  it('a read during a failover fails fast, saying why, and succeeds once a new leader leads', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.node.propose(put('c', 1, 'k', 'before'));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await cluster.stopMember(leader.id);
    // Taken now, the read either waits for the old leader's answer and fails at the change (or
    // at once, with no leader), or lands on the new leader: never a stale answer, never a hang.
    const first = await follower.node.readIndex().then(
      () => 'served',
      (e: unknown) => e as Error,
    );
    if (first instanceof Error) expect(first.message).toMatch(/no leader|leader changed|not confirmed/);
    const next = await cluster.leader();
    await next.node.propose(put('c', 2, 'k', 'after'));
    await waitFor(
      () =>
        follower.node.readIndex().then(
          () => true,
          () => false,
        ),
      {
        what: 'a read confirmed by the new leader',
        timeoutMs: 10_000,
      },
    );
    expect(follower.sm.get('k')).toBe('after');
  });

  it('a single voter elects itself at once and serves writes and reads', async () => {
    cluster = await TestCluster.create(['solo'], { electionTicks: 1000 }); // no election timeout could fire
    await cluster.startAll();
    const solo = await cluster.leader(2000);
    await putMany(solo, 1, 20);
    await solo.node.readIndex();
    expect(solo.sm.get('k20')).toBe('v20');
  });

  it('adds a member by conf change; it receives the state and the address book follows', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const leader = await cluster.leader();
    await putMany(leader, 1, 30);
    const n4Addr = `127.0.0.1:${await unusedPort()}`;
    cluster.addresses.set('n4', n4Addr);
    const cs = await leader.node.proposeConfChange({ type: 'addVoter', nodeId: 'n4', addr: n4Addr });
    expect(cs.voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    const n4 = await cluster.start('n4', true);
    const applied = await putMany(leader, 31, 10);
    await cluster.waitApplied(applied);
    expect(n4.sm.get('k40')).toBe('v40');
    expect(n4.node.status().voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    // n4 knows the others' addresses from the snapshot it installed, and they know its own.
    expect(n4.node.notLeader(leader.id).leaderAddr).toBe(cluster.addresses.get(leader.id));
    const removed = await leader.node.proposeConfChange({ type: 'remove', nodeId: 'n4', addr: '' });
    expect(removed.voters).toEqual(['n1', 'n2', 'n3']);
  });

  it('names a voter that is up as the heir to leadership, not one that is down', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const leader = await cluster.leader();
    const [down, up] = [...cluster.members.values()]
      .filter((m) => m.id !== leader.id)
      .sort((a, b) => a.id.localeCompare(b.id));
    await cluster.stopMember(down!.id);
    await putMany(leader, 1, 5); // the live follower's match moves past the stopped one's
    await waitFor(() => leader.node.leadershipHeir() === up!.id, { what: `${up!.id} named heir`, timeoutMs: 5000 });
    await leader.node.transferLeadership(leader.node.leadershipHeir()!);
    expect((await cluster.leader()).id).toBe(up!.id);
  });

  it('transfers leadership on request', async () => {
    cluster = await TestCluster.create(['n1', 'n2', 'n3']);
    await cluster.startAll();
    const leader = await cluster.leader();
    const target = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await leader.node.transferLeadership(target.id);
    expect((await cluster.leader()).id).toBe(target.id);
  });
});
