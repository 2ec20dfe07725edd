import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { waitFor } from '../lib/poll.js';
import { docker, dockerOk, dockerPy, rawRequest } from './support/docker.js';

/**
 * Swarm mode through the Engine API, driven by clients nobody here wrote: the docker CLI and the
 * Python SDK against m1 (192.168.77.11) and w1 (.21), a lab with no swarm formed. The tests share
 * the lab but not their state: each brings the swarm to what it needs (ensureSwarm) first.
 */
const name = `ds${Math.floor(Math.random() * 1e6).toString(36)}`;
let lab: Lab | undefined;
const L = () => lab as Lab;
const M1_ADDR = '192.168.77.11:2377';

const SWARM_EXISTS =
  'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
const WORKER_NOT_MANAGER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

interface DockerNode {
  ID: string;
  Version: { Index: number };
  Spec: Record<string, unknown>;
  Description: { Hostname: string };
}

interface ApiAnswer {
  status: number;
  body: unknown;
}

interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: string;
  ControlAvailable: boolean;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes: number;
  Managers: number;
  Cluster?: { ID: string };
}

async function swarmInfo(host: string): Promise<SwarmInfo> {
  return JSON.parse(await dockerOk(L(), host, ['info', '-f', '{{json .Swarm}}'])) as SwarmInfo;
}

/** One request on the host's API socket: its status and JSON body. */
async function api(host: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const { response } = await rawRequest(
    L(),
    host,
    `${method} /v1.50${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n` +
      (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n`) +
      `\r\n${text}`,
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
  const rest = response.slice(response.indexOf('\r\n\r\n') + 4).trim();
  return { status, body: rest ? (JSON.parse(rest) as unknown) : undefined };
}

/** `docker node ls` on m1 as rows of its table, keyed by hostname (the `*` kept in the ID column). */
async function nodeTable(): Promise<{ header: string; rows: Map<string, string[]> }> {
  const lines = (await dockerOk(L(), 'm1', ['node', 'ls'])).trimEnd().split('\n');
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const cols = line.split(/ {2,}/);
    rows.set(cols[1]!, cols);
  }
  return { header: lines[0]!, rows };
}

async function leaveIfActive(host: string): Promise<void> {
  if ((await swarmInfo(host)).LocalNodeState !== 'inactive') await dockerOk(L(), host, ['swarm', 'leave', '--force']);
}

/** m1 leads a swarm and w1 is a Ready worker in it, with no stale node entries; the two node IDs. */
async function ensureSwarm(): Promise<{ m1: string; w1: string }> {
  const m1 = await swarmInfo('m1');
  if (!m1.ControlAvailable) {
    await leaveIfActive('m1');
    await dockerOk(L(), 'm1', ['swarm', 'init', '--advertise-addr', '192.168.77.11']);
  }
  let w1 = await swarmInfo('w1');
  const known = await api('m1', 'GET', '/nodes');
  const inM1 = (known.body as { ID: string }[]).some((n) => n.ID === w1.NodeID);
  if (w1.LocalNodeState !== 'active' || w1.ControlAvailable || !inM1) {
    await leaveIfActive('w1');
    const token = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    await dockerOk(L(), 'w1', ['swarm', 'join', '--token', token, M1_ADDR]);
    w1 = await swarmInfo('w1');
  }
  const ids = { m1: (await swarmInfo('m1')).NodeID, w1: w1.NodeID };
  // Entries of earlier w1 identities (it left and joined again) are removed, so "w1" names one node.
  for (const n of (await api('m1', 'GET', '/nodes')).body as { ID: string }[])
    if (n.ID !== ids.m1 && n.ID !== ids.w1) await dockerOk(L(), 'm1', ['node', 'rm', '--force', n.ID]);
  await waitFor(async () => (await nodeTable()).rows.get('w1')?.[2] === 'Ready', {
    what: 'w1 to show Ready in docker node ls',
    timeoutMs: 20_000,
  });
  return ids;
}

describe('swarm mode through the docker CLI and the Python SDK', () => {
  beforeAll(async () => {
    lab = await Lab.up({ name, managers: 1, workers: 1, logLevel: 'warn' });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('docker swarm init prints the join command; join-token worker prints the same; a second init is refused', async () => {
    await leaveIfActive('w1');
    await leaveIfActive('m1');
    const left = await docker(L(), 'm1', ['swarm', 'leave']);
    expect(left.stderr).toContain('Error response from daemon: This node is not part of a swarm');

    const out = await dockerOk(L(), 'm1', ['swarm', 'init', '--advertise-addr', '192.168.77.11']);
    const id = /^Swarm initialized: current node \((\w+)\) is now a manager\.\n/.exec(out)?.[1];
    expect(id).toBeTruthy();
    const token = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    expect(token).toMatch(/^TSWTKN-1-/);
    const joinLine = `    docker swarm join --token ${token} ${M1_ADDR}\n`;
    expect(out).toContain(`To add a worker to this swarm, run the following command:\n\n${joinLine}`);
    expect(out).toContain("To add a manager to this swarm, run 'docker swarm join-token manager'");
    expect(await dockerOk(L(), 'm1', ['swarm', 'join-token', 'worker'])).toBe(
      `To add a worker to this swarm, run the following command:\n\n${joinLine}\n`,
    );
    const manager = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'manager'])).trim();
    expect(manager).toMatch(/^TSWTKN-1-/);
    expect(manager).not.toBe(token);

    const info = await swarmInfo('m1');
    expect(info).toMatchObject({ NodeID: id, LocalNodeState: 'active', ControlAvailable: true, Managers: 1 });
    expect(info.RemoteManagers).toEqual([{ NodeID: id, Addr: M1_ADDR }]);
    expect(info.Cluster?.ID).toBeTruthy();
    expect(info.NodeAddr).toBe('192.168.77.11');
    const text = await dockerOk(L(), 'm1', ['info']);
    for (const line of [
      ' Swarm: active\n',
      `  NodeID: ${id}\n`,
      '  Is Manager: true\n',
      `  ClusterID: ${info.Cluster?.ID}\n`,
      '  Managers: 1\n',
      '  Nodes: 1\n',
      '   Election Tick: 10\n',
      '   Heartbeat Period: 1 second\n',
      '   Expiry Duration: 3 months\n',
      '  Node Address: 192.168.77.11\n',
      `  Manager Addresses:\n   ${M1_ADDR}\n`,
    ])
      expect(text).toContain(line);

    const again = await docker(L(), 'm1', ['swarm', 'init', '--advertise-addr', '192.168.77.11']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`Error response from daemon: ${SWARM_EXISTS}`);
  });

  it('w1 joins with the docker CLI; docker node ls on m1 shows both, m1 starred and Leader', async () => {
    if (!(await swarmInfo('m1')).ControlAvailable) await ensureSwarm();
    await leaveIfActive('w1');
    const token = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    expect(await dockerOk(L(), 'w1', ['swarm', 'join', '--token', token, M1_ADDR])).toBe(
      'This node joined a swarm as a worker.\n',
    );
    const ids = await ensureSwarm();
    const { header, rows } = await nodeTable();
    expect(header).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
    expect(rows.get('m1')?.slice(0, 5)).toEqual([`${ids.m1} *`, 'm1', 'Ready', 'Active', 'Leader']);
    expect(rows.get('w1')?.slice(0, 4)).toEqual([ids.w1, 'w1', 'Ready', 'Active']);
    expect(rows.get('w1')?.[4]).not.toBe('Leader');

    const m1 = await swarmInfo('m1');
    expect(m1).toMatchObject({ Nodes: 2, Managers: 1 });
    const w1 = await swarmInfo('w1');
    expect(w1).toMatchObject({ LocalNodeState: 'active', ControlAvailable: false });
    expect(w1.Cluster).toBeUndefined();
    await waitFor(async () => (await swarmInfo('w1')).RemoteManagers?.[0]?.NodeID === ids.m1, {
      what: "w1's info to name m1 among its managers",
      timeoutMs: 10_000,
    });
    // tswarm's own CLI asks the same Engine API (GET /nodes) as the docker CLI.
    const own = await L().exec('m1', ['tswarm', 'node', 'ls', '--format', 'json']);
    expect(own.stderr).toBe('');
    expect((JSON.parse(own.stdout) as { id: string }[]).map((n) => n.id).sort()).toEqual([ids.m1, ids.w1].sort());
    const onWorker = await docker(L(), 'w1', ['node', 'ls']);
    expect(onWorker.code).not.toBe(0);
    expect(onWorker.stderr).toContain(WORKER_NOT_MANAGER);
  });

  it('docker node update --availability drain w1: inspect says drain, node ls says Drain', async () => {
    const ids = await ensureSwarm();
    expect(await dockerOk(L(), 'm1', ['node', 'update', '--availability', 'drain', 'w1'])).toBe('w1\n');
    expect(await dockerOk(L(), 'm1', ['node', 'inspect', '-f', '{{.Spec.Availability}}', 'w1'])).toBe('drain\n');
    expect((await nodeTable()).rows.get('w1')?.slice(0, 4)).toEqual([ids.w1, 'w1', 'Ready', 'Drain']);
    const pretty = await dockerOk(L(), 'm1', ['node', 'inspect', '--pretty', 'w1']);
    expect(pretty).toMatch(/Hostname:\s+w1\n/);
    expect(pretty).toMatch(/Availability:\s+Drain\n/);
    await dockerOk(L(), 'm1', ['node', 'update', '--availability', 'active', '--label-add', 'zone=a', 'w1']);
    const inspected = JSON.parse(await dockerOk(L(), 'm1', ['node', 'inspect', ids.w1.slice(0, 6)])) as DockerNode[];
    expect(inspected[0]!.Spec).toEqual({ Labels: { zone: 'a' }, Role: 'worker', Availability: 'active' });
    expect(inspected[0]!.Description.Hostname).toBe('w1');
    const filtered = await dockerOk(L(), 'm1', ['node', 'ls', '-q', '--filter', 'node.label=zone=a']);
    expect(filtered).toBe(`${ids.w1}\n`);
    expect(await dockerOk(L(), 'm1', ['node', 'ls', '-q', '--filter', 'role=manager'])).toBe(`${ids.m1}\n`);
  });

  it('refused requests say why in dockerd terms and leave the store unchanged', async () => {
    const ids = await ensureSwarm();
    const before = await api('m1', 'GET', '/nodes');
    const w1 = (before.body as DockerNode[]).find((n) => n.ID === ids.w1)!;
    const spec = { ...w1.Spec, Availability: 'pause' };

    const missing = await api('m1', 'POST', '/nodes/nope/update?version=1', spec);
    expect(missing.status).toBe(404);
    const stale = await api('m1', 'POST', `/nodes/${ids.w1}/update?version=${w1.Version.Index - 1}`, spec);
    expect(stale.status).toBe(409);
    expect((stale.body as { message: string }).message).toContain('changed since it was read');
    const noVersion = await api('m1', 'POST', `/nodes/${ids.w1}/update`, spec);
    expect(noVersion.status).toBe(400);
    const badRole = await api('m1', 'POST', `/nodes/${ids.w1}/update?version=${w1.Version.Index}`, {
      ...spec,
      Role: 'boss',
    });
    expect(badRole.status).toBe(400);

    const init = await api('m1', 'POST', '/swarm/init', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '192.168.77.11' });
    expect(init).toEqual({ status: 503, body: { message: SWARM_EXISTS } });
    const join = await api('w1', 'POST', '/swarm/join', { RemoteAddrs: [M1_ADDR], JoinToken: 'TSWTKN-1-x' });
    expect(join).toEqual({ status: 503, body: { message: SWARM_EXISTS } });
    expect(await api('w1', 'GET', '/swarm')).toEqual({ status: 503, body: { message: WORKER_NOT_MANAGER } });

    const sw = await api('m1', 'GET', '/swarm');
    expect(sw.status).toBe(200);
    const read = sw.body as { Version: { Index: number }; Spec: unknown };
    const staleSwarm = await api(
      'm1',
      'POST',
      `/swarm/update?version=${read.Version.Index - 1}&rotateWorkerToken=true`,
      read.Spec,
    );
    expect(staleSwarm.status).toBe(409);
    const leave = await docker(L(), 'm1', ['swarm', 'leave']);
    expect(leave.stderr).toContain(
      'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm.',
    );

    expect(await api('m1', 'GET', '/swarm')).toEqual(sw);
    expect(await api('m1', 'GET', '/nodes')).toEqual(before);
  });

  it('join-token --rotate goes through /swarm/update: a new worker token, the manager token kept', async () => {
    await ensureSwarm();
    const worker = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    const manager = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'manager'])).trim();
    const out = await dockerOk(L(), 'm1', ['swarm', 'join-token', '--rotate', 'worker']);
    const rotated = (await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    expect(rotated).not.toBe(worker);
    expect(out).toBe(
      `Successfully rotated worker join token.\n\nTo add a worker to this swarm, run the following command:\n\n    docker swarm join --token ${rotated} ${M1_ADDR}\n\n`,
    );
    expect((await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'manager'])).trim()).toBe(manager);

    // docker swarm update sends back the whole spec it read with one field changed.
    expect(await dockerOk(L(), 'm1', ['swarm', 'update', '--task-history-limit', '3'])).toBe('Swarm updated.\n');
    const spec = JSON.parse(await dockerOk(L(), 'm1', ['info', '-f', '{{json .Swarm.Cluster.Spec}}'])) as {
      Orchestration: { TaskHistoryRetentionLimit: number };
      Raft: { ElectionTick: number };
    };
    expect(spec.Orchestration.TaskHistoryRetentionLimit).toBe(3);
    expect(spec.Raft.ElectionTick).toBe(10);
    expect((await dockerOk(L(), 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim()).toBe(rotated);
  });

  it('the Python SDK sees the swarm and both nodes with their roles', async () => {
    const ids = await ensureSwarm();
    const r = await dockerPy(
      L(),
      'm1',
      `import docker, json
c = docker.from_env()
s = c.swarm
print(json.dumps({"id": s.id, "worker": s.attrs["JoinTokens"]["Worker"],
  "nodes": sorted([[n.attrs["Description"]["Hostname"], n.attrs["Spec"]["Role"], n.id] for n in c.nodes.list()])}))`,
    );
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { id: string; worker: string; nodes: string[][] };
    expect(got.id).toBe((await swarmInfo('m1')).Cluster?.ID);
    expect(got.worker).toMatch(/^TSWTKN-1-/);
    expect(got.nodes).toEqual([
      ['m1', 'manager', ids.m1],
      ['w1', 'worker', ids.w1],
    ]);
  });

  it('w1 leaves with docker swarm leave --force; the Python SDK then inits a swarm of its own there', async () => {
    const ids = await ensureSwarm();
    expect(await dockerOk(L(), 'w1', ['swarm', 'leave', '--force'])).toBe('Node left the swarm.\n');
    expect(await dockerOk(L(), 'w1', ['info', '-f', '{{.Swarm.LocalNodeState}}'])).toBe('inactive\n');
    await dockerOk(L(), 'm1', ['node', 'rm', '--force', ids.w1]);
    expect((await nodeTable()).rows.has('w1')).toBe(false);

    const r = await dockerPy(
      L(),
      'w1',
      `import docker, json
c = docker.from_env()
node_id = c.swarm.init(advertise_addr="192.168.77.21")
nodes = [[n.attrs["Description"]["Hostname"], n.attrs["Spec"]["Role"], n.attrs["ManagerStatus"]["Addr"]] for n in c.nodes.list()]
info = c.info()["Swarm"]
print(json.dumps({"node": node_id, "self": info["NodeID"], "nodes": nodes, "left": c.swarm.leave(force=True)}))`,
    );
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { node: string; self: string; nodes: string[][]; left: boolean };
    expect(got.node).toBe(got.self);
    expect(got.nodes).toEqual([['w1', 'manager', '192.168.77.21:2377']]);
    expect(got.left).toBe(true);
    expect(await dockerOk(L(), 'w1', ['info', '-f', '{{.Swarm.LocalNodeState}}'])).toBe('inactive\n');
  });
});
