import { afterEach, describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import { silentLogger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS, TlsMaterialProvider } from '../lib/tls.js';
import { ControlServiceClient, type ListNodesResponse } from '../gen/tswarm/v1/control.js';
import { NodeAvailability, NodeRole, NodeState, Reachability } from '../gen/tswarm/v1/objects.js';
import { Manager, type ManagerOptions } from './manager.js';
import { newCluster } from './store/new-cluster.js';

// One real manager on 127.0.0.1 (port 0) with TLS material from a new cluster's own CA.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const ADVERTISE = '127.0.0.1:4242'; // a single voter never dials itself; this is only recorded

async function initOptions(): Promise<ManagerOptions> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tswarm-manager-test-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const nc = await newCluster();
  const tls = new TlsMaterialProvider({
    caPem: nc.cluster.rootCa!.caCertPem.toString(),
    keyPem: nc.keyPem,
    certPem: nc.certPem,
  });
  return {
    dataDir,
    nodeId: nc.nodeId,
    clusterId: nc.cluster.id,
    tls,
    listenAddr: '127.0.0.1:0',
    advertiseAddr: ADVERTISE,
    mode: {
      kind: 'init',
      cluster: nc.cluster,
      hostname: 'm1',
      availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    log: silentLogger(),
  };
}

async function start(o: ManagerOptions): Promise<Manager> {
  const m = await Manager.start(o);
  cleanups.push(() => m.stop());
  return m;
}

function listNodes(o: ManagerOptions, port: number): Promise<ListNodesResponse> {
  const client = new ControlServiceClient(`127.0.0.1:${port}`, clientCredentials(o.tls), MANAGER_CHANNEL_OPTIONS);
  cleanups.push(() => client.close());
  return callUnary(
    client.listNodes.bind(client),
    new Metadata(),
    { names: [], idPrefixes: [], roles: [], labels: {} },
    10_000,
  );
}

describe('Manager', () => {
  it('init: leads at once, and the store holds the cluster and this node as the leading manager', async () => {
    const o = await initOptions();
    const m = await start(o);
    expect(m.isLeader()).toBe(true);
    expect(m.raftStatus().voters).toEqual([o.nodeId]);
    expect(m.cluster()?.id).toBe(o.clusterId);
    expect(m.boundPort).toBeGreaterThan(0);
    const node = m.replica.get('node', o.nodeId)!;
    expect(node.role).toBe(NodeRole.NODE_ROLE_MANAGER);
    expect(node.spec!.desiredRole).toBe(NodeRole.NODE_ROLE_MANAGER);
    expect(node.description!.hostname).toBe('m1');
    expect(node.managerStatus).toEqual({
      addr: ADVERTISE,
      leader: true,
      reachability: Reachability.REACHABILITY_REACHABLE,
    });
    // The leader's housekeeping round beats for the leader itself.
    await waitFor(() => m.replica.get('node', o.nodeId)?.status?.state === NodeState.NODE_STATE_READY, {
      what: 'the leader to mark itself ready',
      timeoutMs: 10_000,
    });
  });

  it('serves the control API over mutual TLS to a manager of its cluster', async () => {
    const o = await initOptions();
    const m = await start(o);
    const res = await listNodes(o, m.boundPort);
    expect(res.nodes.map((n) => [n.id, n.role, n.managerStatus?.leader])).toEqual([
      [o.nodeId, NodeRole.NODE_ROLE_MANAGER, true],
    ]);
  });

  it('stop closes the port and the Raft node; a restart finds the cluster again on disk', async () => {
    const o = await initOptions();
    const m = await Manager.start(o);
    const port = m.boundPort;
    await m.stop();
    await m.stop(); // a second stop is harmless
    const code = await listNodes(o, port).then(
      () => 'ok',
      (e: unknown) => (e as TswarmError).code,
    );
    expect(code).toBe('UNAVAILABLE');

    const again = await start({ ...o, mode: { kind: 'restart' } });
    await waitFor(() => again.isLeader() && again.cluster() !== undefined, {
      what: 'the restarted manager to lead with its cluster',
      timeoutMs: 10_000,
    });
    expect(again.cluster()!.id).toBe(o.clusterId);
    expect(again.replica.get('node', o.nodeId)!.role).toBe(NodeRole.NODE_ROLE_MANAGER);
  });

  it('refuses a listen address already in use, as UNAVAILABLE', async () => {
    const o = await initOptions();
    const m = await start(o);
    const clash = await initOptions();
    const code = await Manager.start({ ...clash, listenAddr: `127.0.0.1:${m.boundPort}` }).then(
      async (unexpected) => {
        await unexpected.stop();
        return 'ok';
      },
      (e: unknown) => (e as TswarmError).code,
    );
    expect(code).toBe('UNAVAILABLE');
  });
});
