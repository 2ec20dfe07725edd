import type { Cluster, ClusterSpec } from '../../gen/tswarm/v1/objects.js';
import { LocalNodeState, type SwarmInfo } from '../../gen/tswarm/v1/system.js';
import type { RemoteManager } from './swarm-spec.js';
import { clusterTlsInfo } from './tls-info.js';

const NS_PER_MS = 1_000_000;

/** Docker's timestamps: RFC 3339 in UTC. */
export function isoTime(ms: number | undefined): string {
  return new Date(ms ?? 0).toISOString();
}

/** Docker's `SwarmSpec` from tswarm's cluster spec (durations in nanoseconds, as Go's). */
export function dockerSwarmSpec(spec: ClusterSpec | undefined): Record<string, unknown> {
  return {
    Name: spec?.annotations?.name || 'default',
    Labels: spec?.annotations?.labels ?? {},
    Orchestration: { TaskHistoryRetentionLimit: spec?.orchestration?.taskHistoryRetentionLimit ?? 5 },
    Raft: {
      SnapshotInterval: spec?.raft?.snapshotInterval ?? 0,
      KeepOldSnapshots: spec?.raft?.keepOldSnapshots ?? 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: spec?.raft?.electionTick ?? 0,
      HeartbeatTick: spec?.raft?.heartbeatTick ?? 0,
      // tswarm's own (swarm-spec.ts): Docker's clients ignore it.
      TickInterval: (spec?.raft?.tickMs ?? 0) * NS_PER_MS,
    },
    Dispatcher: { HeartbeatPeriod: (spec?.dispatcher?.heartbeatPeriodMs ?? 0) * NS_PER_MS },
    CAConfig: {
      NodeCertExpiry: (spec?.caConfig?.nodeCertExpiryMs ?? 0) * NS_PER_MS,
      // Raised by `docker swarm ca --rotate` (and tswarm's) to start a root rotation.
      ForceRotate: spec?.caConfig?.forceRotate ?? 0,
    },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

/** Docker's `ClusterInfo`: what `docker info` and `docker swarm inspect` show of the swarm. */
export function dockerClusterInfo(cluster: Cluster): Record<string, unknown> {
  return {
    ID: cluster.id,
    Version: { Index: cluster.meta?.version ?? 0 },
    CreatedAt: isoTime(cluster.meta?.createdAtMs),
    UpdatedAt: isoTime(cluster.meta?.updatedAtMs),
    Spec: dockerSwarmSpec(cluster.spec),
    TLSInfo: clusterTlsInfo(cluster.rootCa),
    RootRotationInProgress: cluster.rootCa?.rootRotation !== undefined,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    DataPathPort: 4789,
  };
}

const LOCAL_STATES: Record<number, string> = {
  [LocalNodeState.LOCAL_NODE_STATE_UNSPECIFIED]: 'inactive',
  [LocalNodeState.LOCAL_NODE_STATE_INACTIVE]: 'inactive',
  [LocalNodeState.LOCAL_NODE_STATE_PENDING]: 'pending',
  [LocalNodeState.LOCAL_NODE_STATE_ACTIVE]: 'active',
  [LocalNodeState.LOCAL_NODE_STATE_ERROR]: 'error',
  [LocalNodeState.LOCAL_NODE_STATE_LOCKED]: 'locked',
};

export function localNodeStateName(state: LocalNodeState | undefined): string {
  return LOCAL_STATES[state ?? 0] ?? 'inactive';
}

/** Docker's `Swarm` (`GET /swarm`): the cluster and its join tokens, for managers only. */
export function dockerSwarm(cluster: Cluster): Record<string, unknown> {
  const tokens = cluster.rootCa?.joinTokens;
  return {
    ...dockerClusterInfo(cluster),
    JoinTokens: { Worker: tokens?.worker ?? '', Manager: tokens?.manager ?? '' },
  };
}

/**
 * Docker's `Info.Swarm`; `Cluster` only where this node is a manager holding the cluster object.
 * `remoteManagers` name the managers with their node IDs; without them, the addresses alone.
 */
export function dockerSwarmInfo(
  swarm: SwarmInfo,
  cluster: Cluster | undefined,
  remoteManagers: readonly RemoteManager[] = swarm.remoteManagers.map((addr) => ({ nodeId: '', addr })),
): Record<string, unknown> {
  const state = localNodeStateName(swarm.localNodeState);
  return {
    NodeID: swarm.nodeId,
    // Docker's node address is the IP alone; tswarm keeps the advertised "IP:PORT".
    NodeAddr: swarm.nodeAddr.replace(/:\d+$/, ''),
    LocalNodeState: state,
    ControlAvailable: swarm.controlAvailable && cluster !== undefined,
    Error: swarm.error,
    RemoteManagers: remoteManagers.map((m) => ({ NodeID: m.nodeId, Addr: m.addr })),
    Nodes: swarm.nodes,
    Managers: swarm.managers,
    ...(swarm.controlAvailable && cluster ? { Cluster: dockerClusterInfo(cluster) } : {}),
  };
}
