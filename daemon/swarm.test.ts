import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import { LocalNodeState } from '../gen/tswarm/v1/system.js';
import { readRaftOwner, writeRaftOwner } from '../manager/raft-dir-owner.js';
import { controlForwarder } from './api/control-forwarder.js';
import { freshNodeConfig, loadNodeConfig } from './node-config.js';
import { Swarm } from './swarm.js';
import { swarmStateIn } from './swarm-state.js';
import { MANAGERS_FILE, parseManagersFile } from '../worker/managers-file.js';

// One real single-manager swarm on 127.0.0.1: what leave deletes, and what Raft refuses to start on.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tswarm-swarm-test-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A port free right now (the manager needs a real one: port 0 is not a swarm address). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function swarmIn(dir: string, node = freshNodeConfig('ttest1')): Promise<Swarm> {
  const swarm = new Swarm({ dataDir: dir, hostname: 'h1', log: silentLogger(), node });
  cleanups.push(() => swarm.stopParts());
  return swarm;
}

async function init(swarm: Swarm, port?: number) {
  port ??= await freePort();
  return swarm.init({
    listenAddr: `127.0.0.1:${port}`,
    advertiseAddr: `127.0.0.1:${port}`,
    forceNewCluster: false,
    spec: undefined,
    availability: 0,
  });
}

async function joinAsManager(swarm: Swarm, token: string, managerAddr: string) {
  const port = await freePort();
  return swarm.join({
    token,
    remoteAddrs: [managerAddr],
    listenAddr: `127.0.0.1:${port}`,
    advertiseAddr: `127.0.0.1:${port}`,
    availability: 0,
  });
}

/** Raft's view on a manager: its configuration, and how far it has applied. */
function raftOf(swarm: Swarm) {
  const s = swarm.localManager!.raftStatus();
  return { voters: [...s.voters].sort(), learners: s.learners, term: s.term, applied: s.applied };
}

const nodeIds = (swarm: Swarm) =>
  swarm
    .localManager!.replica.list('node')
    .map((n) => n.id)
    .sort();

describe('leaving a swarm, and Raft data bound to its member', () => {
  it('leave --force on the last manager deletes raft/, the keys and certificates; init then makes a new cluster', async () => {
    const dir = await dataDir();
    const swarm = await swarmIn(dir);
    const port = await freePort();
    const first = await init(swarm, port);
    const listed = async () =>
      (await controlForwarder(swarm).call('listNodes', { names: [], idPrefixes: [], roles: [], labels: {} })).nodes.map(
        (n) => n.id,
      );
    expect(await listed()).toEqual([first.nodeId]);
    expect(await readRaftOwner(join(dir, 'raft'))).toEqual({ clusterId: first.clusterId, memberId: first.nodeId });
    // The managers its heartbeats named (itself), written after the first answer.
    await waitFor(() => existsSync(join(dir, MANAGERS_FILE)), { what: 'managers.json', timeoutMs: 15_000 });
    expect(await swarmStateIn(dir)).toEqual([
      'managers.json',
      'raft',
      'certificates/ca.pem',
      'certificates/node.key',
      'certificates/node.pem',
    ]);

    await swarm.leave(true);
    expect(swarm.node).toMatchObject({ role: 'none', nodeId: '', clusterId: '' });
    expect(await swarmStateIn(dir)).toEqual([]);
    expect(existsSync(join(dir, 'certificates'))).toBe(true);

    // The same address: the local API must reach the new cluster's manager with the new certificate.
    const second = await init(swarm, port);
    expect(second.clusterId).not.toBe(first.clusterId);
    expect(await listed()).toEqual([second.nodeId]);
    expect(swarm.localManager?.isLeader()).toBe(true);
    expect(await readRaftOwner(join(dir, 'raft'))).toEqual({ clusterId: second.clusterId, memberId: second.nodeId });
  });

  it('a node that made cluster B, left it and joined cluster A as a manager holds A’s Raft state alone; leaving takes it out of Raft', async () => {
    const a = await swarmIn(await dataDir(), freshNodeConfig('ttesta'));
    const aRes = await init(a);
    const bDir = await dataDir();
    const b = await swarmIn(bDir, freshNodeConfig('ttestb'));
    const bRes = await init(b);
    // A longer history in B than in A, so a reused log would show.
    for (let i = 0; i < 5; i++)
      await b.localManager!.store.update((tx, s) => tx.update('node', s.get('node', bRes.nodeId)!));
    await b.leave(true);

    const joined = await joinAsManager(b, aRes.managerJoinToken, aRes.advertiseAddr);
    const expected = [aRes.nodeId, joined.nodeId].sort();
    await waitFor(
      () => {
        const [ra, rb] = [raftOf(a), raftOf(b)];
        return JSON.stringify(ra.voters) === JSON.stringify(expected) && JSON.stringify(rb) === JSON.stringify(ra);
      },
      {
        what: 'the joined member promoted, with the leader’s configuration, term and applied index',
        timeoutMs: 30_000,
      },
    );
    expect(raftOf(b).learners).toEqual([]);
    expect(nodeIds(b)).toEqual(expected);
    expect(nodeIds(a)).toEqual(expected);
    expect(b.localManager!.cluster()?.id).toBe(aRes.clusterId);

    await b.leave(true);
    // LeaveRaft answers once the leader has applied the removal.
    expect(raftOf(a).voters).toEqual([aRes.nodeId]);
    expect(await swarmStateIn(bDir)).toEqual([]);
    const again = await init(b);
    expect(b.localManager?.isLeader()).toBe(true);
    expect(nodeIds(b)).toEqual([again.nodeId]);
  });

  it('the leader leaving with --force hands the cluster to the remaining manager', async () => {
    const a = await swarmIn(await dataDir(), freshNodeConfig('ttesta'));
    const aRes = await init(a);
    const c = await swarmIn(await dataDir(), freshNodeConfig('ttestc'));
    const joined = await joinAsManager(c, aRes.managerJoinToken, aRes.advertiseAddr);
    await waitFor(() => raftOf(a).voters.length === 2 && raftOf(c).voters.length === 2, {
      what: 'the second manager promoted to voter',
      timeoutMs: 30_000,
    });
    await a.leave(true);
    await waitFor(() => c.localManager!.isLeader(), { what: 'the remaining manager to lead', timeoutMs: 30_000 });
    expect(raftOf(c).voters).toEqual([joined.nodeId]);
  });

  it('a manager whose raft/ names another member does not start Raft, says what to do, and leave --force clears it', async () => {
    const dir = await dataDir();
    const first = await swarmIn(dir);
    const res = await init(first);
    await first.stopParts();
    await writeRaftOwner(join(dir, 'raft'), { clusterId: res.clusterId, memberId: 'someoneelse' });

    const saved = await loadNodeConfig(dir);
    expect(saved?.role).toBe('manager');
    const restarted = await swarmIn(dir, saved);
    await restarted.resume();
    expect(restarted.localManager).toBeUndefined();
    const info = restarted.info();
    expect(info.localNodeState).toBe(LocalNodeState.LOCAL_NODE_STATE_ERROR);
    expect(info.error).toContain('holds the Raft data of member someoneelse');
    expect(info.error).toContain('`tswarm leave --force`');

    await restarted.leave(true);
    expect(restarted.info().localNodeState).toBe(LocalNodeState.LOCAL_NODE_STATE_INACTIVE);
    expect(restarted.info().error).toBe('');
    expect(await swarmStateIn(dir)).toEqual([]);
  });

  it('a daemon in no swarm deletes what a former membership left when it starts', async () => {
    const dir = await dataDir();
    await mkdir(join(dir, 'raft', 'wal'), { recursive: true });
    await writeFile(join(dir, 'raft', 'wal', '0000000000000000-0000000000000001.wal'), 'old log');
    await mkdir(join(dir, 'raft.before-force-new-cluster-1700000000000'));
    await mkdir(join(dir, 'certificates'));
    await writeFile(join(dir, 'certificates', 'node.key'), 'old key');
    await mkdir(join(dir, 'engine'));
    const swarm = await swarmIn(dir);
    await swarm.resume();
    expect(await swarmStateIn(dir)).toEqual([]);
    expect(existsSync(join(dir, 'engine'))).toBe(true);
  });
});

describe('a worker’s known managers (managers.json)', () => {
  async function joinAsWorker(swarm: Swarm, token: string, managerAddr: string) {
    return swarm.join({ token, remoteAddrs: [managerAddr], listenAddr: '', advertiseAddr: '', availability: 0 });
  }

  async function knownOnDisk(dir: string, clusterId: string) {
    const text = await readFile(join(dir, MANAGERS_FILE), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseManagersFile(text, clusterId);
  }

  it('are kept after the first answer; a restart goes through them, not the join address, expecting their IDs', async () => {
    const manager = await swarmIn(await dataDir());
    const m = await init(manager);
    const workerToken = manager.localManager!.cluster()!.rootCa!.joinTokens!.worker;
    const dir = await dataDir();
    const worker = await swarmIn(dir, freshNodeConfig('ttestw'));
    const joined = await joinAsWorker(worker, workerToken, m.advertiseAddr);
    const known = await waitFor(
      async () => (await knownOnDisk(dir, m.clusterId))?.length === 1 && (await knownOnDisk(dir, m.clusterId)),
      {
        what: 'managers.json naming the manager',
        timeoutMs: 15_000,
      },
    );
    expect(known).toEqual([{ nodeId: m.nodeId, addr: m.advertiseAddr }]);
    await worker.stopParts();

    // The address it joined through now leads nowhere (that manager moved, or is down for good).
    const saved = (await loadNodeConfig(dir))!;
    const gone = `127.0.0.1:${await freePort()}`;
    saved.joinAddrs = [gone];
    const restarted = await swarmIn(dir, saved);
    await restarted.resume();
    // Even at the join address it expects a manager it knows, not any manager of the cluster.
    expect(restarted.expectedManagerAt(gone)).toEqual({ addr: gone, nodeIds: [m.nodeId] });
    await waitFor(() => restarted.managerConnections().heartbeat?.addr === m.advertiseAddr, {
      what: 'heartbeats answered through the persisted manager',
      timeoutMs: 15_000,
    });
    expect(restarted.managerConnections().heartbeat).toEqual({ addr: m.advertiseAddr, nodeId: m.nodeId });
    expect(restarted.info().localNodeState).toBe(LocalNodeState.LOCAL_NODE_STATE_ACTIVE);
    expect(joined.nodeId).toBe(restarted.node.nodeId);

    // A corrupt file: the daemon starts all the same, from its join address, and writes the file anew.
    await restarted.stopParts();
    await writeFile(join(dir, MANAGERS_FILE), '{"formatVersion": 1, "clus');
    const config = await loadNodeConfig(dir);
    expect(config?.joinAddrs).toEqual([m.advertiseAddr]);
    const again = await swarmIn(dir, config);
    await again.resume();
    expect(again.expectedManagerAt(m.advertiseAddr)).toEqual({ addr: m.advertiseAddr, nodeIds: [] });
    await waitFor(async () => (await knownOnDisk(dir, m.clusterId).catch(() => undefined))?.length === 1, {
      what: 'managers.json written again after the first answer',
      timeoutMs: 15_000,
    });

    // Leaving deletes it with the rest of the membership.
    await again.leave(false);
    expect(existsSync(join(dir, MANAGERS_FILE))).toBe(false);
  });
});
