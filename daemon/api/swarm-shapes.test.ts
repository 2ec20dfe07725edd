import { afterEach, describe, expect, it } from 'vitest';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  type ClusterSpec,
  type Node,
} from '../../gen/tswarm/v1/objects.js';
import { defaultClusterSpec } from '../../manager/store/new-cluster.js';
import { thrownCode } from '../../lib/testing/error-codes.js';
import { TEST_SHORT_CERTS_ENV } from '../../ca/limits.js';
import { dockerNode, NODE_FILTERS, nodeFilters, nodeSpecFromDocker } from './node-shapes.js';
import { dockerSwarmSpec } from './swarm-shapes.js';
import { clusterSpecFromDocker, initRequestFromDocker, joinRequestFromDocker } from './swarm-spec.js';
import { parseFilters } from './list-filters.js';

const HOUR_NS = 3600 * 1e9;

function node(over: Partial<Node> = {}): Node {
  return {
    id: 'abc123',
    meta: { id: 'abc123', version: 42, createdAtMs: 0, updatedAtMs: 1000 },
    spec: {
      annotations: { name: '', labels: { zone: 'a' } },
      desiredRole: NodeRole.NODE_ROLE_MANAGER,
      availability: NodeAvailability.NODE_AVAILABILITY_DRAIN,
    },
    description: {
      hostname: 'm1',
      platform: { os: 'linux', architecture: 'x86_64' },
      resources: { nanoCpus: 2e9, memoryBytes: 1 << 30, pids: 0 },
      engineVersion: '0.1.0',
      engineLabels: { disk: 'ssd' },
    },
    status: { state: NodeState.NODE_STATE_READY, message: '', addr: '' },
    managerStatus: { addr: '192.168.77.11:2377', leader: true, reachability: Reachability.REACHABILITY_REACHABLE },
    role: NodeRole.NODE_ROLE_MANAGER,
    certificate: undefined,
    trustRootDigest: '',
    ...over,
  };
}

describe('Docker node shapes', () => {
  it('shows a manager node as dockerd does', () => {
    const d = dockerNode(node(), { TrustRoot: 'PEM', CertIssuerSubject: '', CertIssuerPublicKey: '' }) as {
      Version: unknown;
      Spec: unknown;
      Status: unknown;
      ManagerStatus: unknown;
      Description: { Resources: unknown; TLSInfo: { TrustRoot: string } };
    };
    expect(d.Version).toEqual({ Index: 42 });
    expect(d.Spec).toEqual({ Labels: { zone: 'a' }, Role: 'manager', Availability: 'drain' });
    expect(d.Status).toEqual({ State: 'ready', Addr: '192.168.77.11' });
    expect(d.ManagerStatus).toEqual({ Leader: true, Reachability: 'reachable', Addr: '192.168.77.11:2377' });
    expect(d.Description.Resources).toEqual({ NanoCPUs: 2e9, MemoryBytes: 1 << 30 });
    expect(d.Description.TLSInfo.TrustRoot).toBe('PEM');
  });

  it('leaves ManagerStatus out for a worker', () => {
    const d = dockerNode(node({ managerStatus: undefined, role: NodeRole.NODE_ROLE_WORKER }), {
      TrustRoot: '',
      CertIssuerSubject: '',
      CertIssuerPublicKey: '',
    });
    expect(d).not.toHaveProperty('ManagerStatus');
  });

  it('reads a NodeSpec body; a missing or unknown role or availability is refused', () => {
    expect(nodeSpecFromDocker({ Role: 'worker', Availability: 'pause', Labels: { a: 'b' }, Name: 'n' })).toEqual({
      annotations: { name: 'n', labels: { a: 'b' } },
      desiredRole: NodeRole.NODE_ROLE_WORKER,
      availability: NodeAvailability.NODE_AVAILABILITY_PAUSE,
    });
    expect(thrownCode(() => nodeSpecFromDocker({ Availability: 'active' }))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => nodeSpecFromDocker({ Role: 'worker' }))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => nodeSpecFromDocker({ Role: 'worker', Availability: 'gone' }))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => nodeSpecFromDocker({ Role: 'worker', Availability: 'active', Labels: { a: 1 } }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('parses both filter formats and refuses unknown keys', () => {
    expect(parseFilters('{"role":{"manager":true}}', NODE_FILTERS).get('role')).toEqual(['manager']);
    expect(parseFilters('{"name":["m1","w1"]}', NODE_FILTERS).get('name')).toEqual(['m1', 'w1']);
    expect(thrownCode(() => parseFilters('{"colour":["red"]}', NODE_FILTERS))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => parseFilters('{', NODE_FILTERS))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => nodeFilters(new Map([['role', ['boss']]])))).toBe('INVALID_ARGUMENT');
  });

  it('filters on node labels (key or key=value), engine labels and membership', () => {
    const n = node();
    const check = (key: string, values: string[]) => nodeFilters(new Map([[key, values]])).matches(n);
    expect(check('node.label', ['zone'])).toBe(true);
    expect(check('node.label', ['zone=a'])).toBe(true);
    expect(check('node.label', ['zone=b'])).toBe(false);
    expect(check('label', ['disk=ssd'])).toBe(true);
    expect(check('label', ['zone'])).toBe(false);
    expect(check('membership', ['accepted'])).toBe(true);
    expect(check('membership', ['pending'])).toBe(false);
    const { request } = nodeFilters(
      new Map([
        ['role', ['worker']],
        ['id', ['ab']],
      ]),
    );
    expect(request).toEqual({ names: [], idPrefixes: ['ab'], roles: [NodeRole.NODE_ROLE_WORKER], labels: {} });
  });
});

describe('Docker swarm specs', () => {
  it('reads an init body: durations in nanoseconds, zero fields left for the defaults', () => {
    const init = initRequestFromDocker({
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: '192.168.77.11',
      ForceNewCluster: false,
      Spec: { Dispatcher: { HeartbeatPeriod: 2e9 }, CAConfig: { NodeCertExpiry: 2 * HOUR_NS }, Raft: {} },
      Availability: 'drain',
      SubnetSize: 24,
      DataPathPort: 0,
    });
    expect(init.advertiseAddr).toBe('192.168.77.11');
    expect(init.availability).toBe(NodeAvailability.NODE_AVAILABILITY_DRAIN);
    expect(init.spec?.dispatcher?.heartbeatPeriodMs).toBe(2000);
    expect(init.spec?.caConfig?.nodeCertExpiryMs).toBe(2 * 3600 * 1000);
    expect(init.spec?.raft).toEqual({
      snapshotInterval: 0,
      keepOldSnapshots: 0,
      heartbeatTick: 0,
      electionTick: 0,
      tickMs: 0,
    });
  });

  it("reads tswarm's Raft tick (Spec.Raft.TickInterval, in nanoseconds), which Docker's spec lacks", () => {
    const tick = (ns: number) => initRequestFromDocker({ Spec: { Raft: { TickInterval: ns } } }).spec?.raft?.tickMs;
    expect(tick(100e6)).toBe(100);
    // Out of range for Raft, but that is the daemon's to say (checkRaftTimings), in its words.
    expect(tick(5e6)).toBe(5);
    expect(tick(0)).toBe(0);
    expect(thrownCode(() => tick(999))).toBe('INVALID_ARGUMENT');
    expect(dockerSwarmSpec(defaultClusterSpec())).toMatchObject({ Raft: { TickInterval: 100e6 } });
  });

  describe('certificate lifetimes under an hour', () => {
    const saved = process.env[TEST_SHORT_CERTS_ENV];
    afterEach(() => {
      if (saved === undefined) delete process.env[TEST_SHORT_CERTS_ENV];
      else process.env[TEST_SHORT_CERTS_ENV] = saved;
    });
    const short = { Spec: { CAConfig: { NodeCertExpiry: 20e9 } } };

    it('are refused, as dockerd refuses them', () => {
      delete process.env[TEST_SHORT_CERTS_ENV];
      expect(() => initRequestFromDocker(short)).toThrow('minimum certificate expiry time is 1h, got 20s');
    });

    it('are taken from a daemon started with the test switch, so renewal can be tested in seconds', () => {
      process.env[TEST_SHORT_CERTS_ENV] = '1';
      expect(initRequestFromDocker(short).spec?.caConfig?.nodeCertExpiryMs).toBe(20_000);
    });
  });

  it('refuses what tswarm has no counterpart for, and bad values', () => {
    const code = (body: Record<string, unknown>) => thrownCode(() => initRequestFromDocker(body));
    expect(code({ DataPathAddr: 'eth0' })).toBe('UNIMPLEMENTED');
    expect(code({ DefaultAddrPool: ['10.20.0.0/16'] })).toBe('UNIMPLEMENTED');
    expect(code({ DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 })).toBe('ok');
    expect(code({ Spec: { EncryptionConfig: { AutoLockManagers: true } } })).toBe('UNIMPLEMENTED');
    expect(code({ Spec: { CAConfig: { NodeCertExpiry: 60e9 } } })).toBe('INVALID_ARGUMENT');
    expect(code({ Spec: { Name: 'other' } })).toBe('INVALID_ARGUMENT');
    expect(code({ Availability: 'sleepy' })).toBe('INVALID_ARGUMENT');
    expect(code({ Spec: { Raft: { ElectionTick: -1 } } })).toBe('INVALID_ARGUMENT');
  });

  it('reads a join body; a join without a manager address or token is refused', () => {
    const join = joinRequestFromDocker({ RemoteAddrs: ['192.168.77.11:2377'], JoinToken: 'T', ListenAddr: '' });
    expect(join).toMatchObject({ token: 'T', remoteAddrs: ['192.168.77.11:2377'] });
    expect(thrownCode(() => joinRequestFromDocker({ JoinToken: 'T' }))).toBe('INVALID_ARGUMENT');
    expect(thrownCode(() => joinRequestFromDocker({ RemoteAddrs: ['a:1'] }))).toBe('INVALID_ARGUMENT');
  });

  it('an update that sends back the spec it read changes nothing; set fields change', () => {
    const current: ClusterSpec = defaultClusterSpec();
    const read = JSON.parse(JSON.stringify(dockerSwarmSpec(current))) as Record<string, unknown>;
    expect(clusterSpecFromDocker(read, current)).toEqual(current);
    const changed = clusterSpecFromDocker(
      { ...read, Dispatcher: { HeartbeatPeriod: 5e9 }, Orchestration: { TaskHistoryRetentionLimit: 0 } },
      current,
    );
    expect(changed.dispatcher?.heartbeatPeriodMs).toBe(5000);
    expect(changed.orchestration?.taskHistoryRetentionLimit).toBe(0);
    expect(changed.raft?.tickMs).toBe(current.raft?.tickMs);
    // A changed tick reaches the control API, which refuses it (timings are fixed at init).
    const retick = clusterSpecFromDocker({ ...read, Raft: { TickInterval: 250e6 } }, current);
    expect(retick.raft?.tickMs).toBe(250);
  });
});
