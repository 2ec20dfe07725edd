import { NodeAvailability, type ClusterSpec } from '../../gen/tswarm/v1/objects.js';
import type { SwarmInitRequest, SwarmJoinRequest } from '../../gen/tswarm/v1/system.js';
import { NODE_CERT_VALIDITY_MS_MIN, shortCertsAllowed } from '../../ca/limits.js';
import { TswarmError } from '../../lib/errors.js';
import { field, stringArray, stringMap, type JsonObject } from './body.js';

/** A manager as Docker's `Info.Swarm.RemoteManagers` lists it. */
export interface RemoteManager {
  nodeId: string;
  addr: string;
}

const NS_PER_MS = 1_000_000;

const AVAILABILITY: Record<string, NodeAvailability> = {
  active: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
  pause: NodeAvailability.NODE_AVAILABILITY_PAUSE,
  drain: NodeAvailability.NODE_AVAILABILITY_DRAIN,
};

/** Docker's availability word; '' (not given) is UNSPECIFIED, which init and join take as active. */
export function availabilityFromDocker(value: string | undefined, path: string): NodeAvailability {
  if (value === undefined || value === '') return NodeAvailability.NODE_AVAILABILITY_UNSPECIFIED;
  const a = AVAILABILITY[value.toLowerCase()];
  if (a === undefined)
    throw new TswarmError('INVALID_ARGUMENT', `invalid ${path} "${value}". Use active, pause or drain`);
  return a;
}

function wholeNumber(obj: JsonObject | undefined, name: string, path: string): number | undefined {
  const v = field(obj, name, 'number', path);
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new TswarmError('INVALID_ARGUMENT', `${path} must be a whole number of 0 or more, got ${v}`);
  return v;
}

function unsupported(what: string): never {
  throw new TswarmError('UNIMPLEMENTED', `${what} is not supported by tswarm. Leave it out`);
}

/** Parts of Docker's swarm spec tswarm has no counterpart for: refused when set, never ignored. */
function refuseUnsupported(spec: JsonObject): void {
  const ca = field(spec, 'CAConfig', 'object', 'Spec.CAConfig');
  if ((field(ca, 'ExternalCAs', 'array', 'Spec.CAConfig.ExternalCAs') ?? []).length > 0) unsupported('an external CA');
  const enc = field(spec, 'EncryptionConfig', 'object', 'Spec.EncryptionConfig');
  if (field(enc, 'AutoLockManagers', 'boolean', 'Spec.EncryptionConfig.AutoLockManagers'))
    unsupported('autolock (Spec.EncryptionConfig.AutoLockManagers)');
  const defaults = field(spec, 'TaskDefaults', 'object', 'Spec.TaskDefaults');
  if (field(defaults, 'LogDriver', 'object', 'Spec.TaskDefaults.LogDriver')) unsupported('a default log driver');
}

/**
 * A duration in nanoseconds (Go's time.Duration, as Docker sends them) as whole milliseconds,
 * tswarm's unit; absent or 0 is undefined (keep the base's). Under a millisecond is refused.
 */
function durationMs(obj: JsonObject | undefined, name: string, path: string): number | undefined {
  const ns = wholeNumber(obj, name, path);
  if (!ns) return undefined;
  if (ns < NS_PER_MS) throw new TswarmError('INVALID_ARGUMENT', `${path} must be at least 1ms, got ${ns}ns`);
  return Math.round(ns / NS_PER_MS);
}

/**
 * Docker's `SwarmSpec` over `base`, as dockerd merges it: a field left zero or absent keeps the
 * base's value. Durations arrive in nanoseconds; tswarm keeps milliseconds. The Raft tick is
 * tswarm's own field `Raft.TickInterval` (swarmkit's name for it, a node option there): the docker
 * CLI never sends it, so it keeps the base's; tswarm's CLI sends it at init.
 */
export function clusterSpecFromDocker(spec: JsonObject | undefined, base: ClusterSpec): ClusterSpec {
  const out: ClusterSpec = {
    annotations: { name: base.annotations?.name ?? '', labels: { ...(base.annotations?.labels ?? {}) } },
    orchestration: { taskHistoryRetentionLimit: base.orchestration?.taskHistoryRetentionLimit ?? 0 },
    raft: {
      snapshotInterval: base.raft?.snapshotInterval ?? 0,
      keepOldSnapshots: base.raft?.keepOldSnapshots ?? 0,
      heartbeatTick: base.raft?.heartbeatTick ?? 0,
      electionTick: base.raft?.electionTick ?? 0,
      tickMs: base.raft?.tickMs ?? 0,
    },
    dispatcher: { heartbeatPeriodMs: base.dispatcher?.heartbeatPeriodMs ?? 0 },
    // The signing root is never the base's: it is a request to rotate, made with this update only.
    caConfig: {
      nodeCertExpiryMs: base.caConfig?.nodeCertExpiryMs ?? 0,
      forceRotate: base.caConfig?.forceRotate ?? 0,
      signingCaCertPem: Buffer.alloc(0),
      signingCaKeyPem: Buffer.alloc(0),
    },
  };
  if (!spec) return out;
  refuseUnsupported(spec);
  const name = field(spec, 'Name', 'string', 'Spec.Name');
  if (name && name !== 'default')
    throw new TswarmError('INVALID_ARGUMENT', `swarm spec must be named "default", not "${name}". Leave Name out`);
  const labels = stringMap(spec, 'Labels', 'Spec.Labels');
  if (labels && Object.keys(labels).length > 0) out.annotations!.labels = labels;

  const orch = field(spec, 'Orchestration', 'object', 'Spec.Orchestration');
  const limit = wholeNumber(orch, 'TaskHistoryRetentionLimit', 'Spec.Orchestration.TaskHistoryRetentionLimit');
  if (limit !== undefined) out.orchestration!.taskHistoryRetentionLimit = limit;

  const raft = field(spec, 'Raft', 'object', 'Spec.Raft');
  const r = out.raft!;
  r.snapshotInterval = wholeNumber(raft, 'SnapshotInterval', 'Spec.Raft.SnapshotInterval') || r.snapshotInterval;
  r.keepOldSnapshots = wholeNumber(raft, 'KeepOldSnapshots', 'Spec.Raft.KeepOldSnapshots') ?? r.keepOldSnapshots;
  r.electionTick = wholeNumber(raft, 'ElectionTick', 'Spec.Raft.ElectionTick') || r.electionTick;
  r.heartbeatTick = wholeNumber(raft, 'HeartbeatTick', 'Spec.Raft.HeartbeatTick') || r.heartbeatTick;
  // Its range is checked where the timings are used (daemon/cluster-spec.ts, checkRaftTimings).
  r.tickMs = durationMs(raft, 'TickInterval', 'Spec.Raft.TickInterval') ?? r.tickMs;

  const dispatcher = field(spec, 'Dispatcher', 'object', 'Spec.Dispatcher');
  const periodMs = durationMs(dispatcher, 'HeartbeatPeriod', 'Spec.Dispatcher.HeartbeatPeriod');
  if (periodMs !== undefined) out.dispatcher!.heartbeatPeriodMs = periodMs;

  const ca = field(spec, 'CAConfig', 'object', 'Spec.CAConfig');
  const expiryMs = durationMs(ca, 'NodeCertExpiry', 'Spec.CAConfig.NodeCertExpiry');
  if (expiryMs !== undefined) {
    if (expiryMs < NODE_CERT_VALIDITY_MS_MIN && !shortCertsAllowed())
      throw new TswarmError('INVALID_ARGUMENT', `minimum certificate expiry time is 1h, got ${expiryMs / 1000}s`);
    out.caConfig!.nodeCertExpiryMs = expiryMs;
  }
  // A raised ForceRotate, or a given root, starts a root CA rotation (manager/ca/rotation.ts).
  const forceRotate = wholeNumber(ca, 'ForceRotate', 'Spec.CAConfig.ForceRotate');
  if (forceRotate) out.caConfig!.forceRotate = forceRotate;
  out.caConfig!.signingCaCertPem = Buffer.from(
    field(ca, 'SigningCACert', 'string', 'Spec.CAConfig.SigningCACert') ?? '',
  );
  out.caConfig!.signingCaKeyPem = Buffer.from(field(ca, 'SigningCAKey', 'string', 'Spec.CAConfig.SigningCAKey') ?? '');
  return out;
}

/** An init's spec: what is left zero takes the cluster defaults (daemon/cluster-spec.ts, mergeSpec). */
const ZERO_SPEC: ClusterSpec = {
  annotations: undefined,
  orchestration: undefined,
  raft: undefined,
  dispatcher: undefined,
  caConfig: undefined,
};

/** `POST /swarm/init`'s body as tswarm's init request. */
export function initRequestFromDocker(body: JsonObject): SwarmInitRequest {
  if (field(body, 'DataPathAddr', 'string'))
    unsupported('a separate data path address (overlay traffic uses the advertise address)');
  const port = wholeNumber(body, 'DataPathPort', 'DataPathPort');
  if (port && port !== 4789) unsupported('a data path port other than 4789');
  // The pool tswarm reports (swarm-shapes.ts) is Docker's default; asking for that one is fine.
  if ((stringArray(body, 'DefaultAddrPool') ?? []).some((p) => p !== '10.0.0.0/8'))
    unsupported('a default address pool other than 10.0.0.0/8');
  const subnet = wholeNumber(body, 'SubnetSize', 'SubnetSize');
  if (subnet && subnet !== 24) unsupported('a default subnet size other than 24');
  if (field(body, 'AutoLockManagers', 'boolean')) unsupported('autolock');
  return {
    listenAddr: field(body, 'ListenAddr', 'string') ?? '',
    advertiseAddr: field(body, 'AdvertiseAddr', 'string') ?? '',
    forceNewCluster: field(body, 'ForceNewCluster', 'boolean') ?? false,
    spec: clusterSpecFromDocker(field(body, 'Spec', 'object'), ZERO_SPEC),
    availability: availabilityFromDocker(field(body, 'Availability', 'string'), 'Availability'),
  };
}

/** `POST /swarm/join`'s body as tswarm's join request. */
export function joinRequestFromDocker(body: JsonObject): SwarmJoinRequest {
  if (field(body, 'DataPathAddr', 'string'))
    unsupported('a separate data path address (overlay traffic uses the advertise address)');
  const remoteAddrs = stringArray(body, 'RemoteAddrs') ?? [];
  if (remoteAddrs.length === 0)
    throw new TswarmError('INVALID_ARGUMENT', 'RemoteAddrs must name a manager, e.g. ["192.168.77.11:2377"]');
  const token = field(body, 'JoinToken', 'string') ?? '';
  if (!token) throw new TswarmError('INVALID_ARGUMENT', 'JoinToken is missing. Get one with `docker swarm join-token`');
  return {
    token,
    remoteAddrs,
    listenAddr: field(body, 'ListenAddr', 'string') ?? '',
    advertiseAddr: field(body, 'AdvertiseAddr', 'string') ?? '',
    availability: availabilityFromDocker(field(body, 'Availability', 'string'), 'Availability'),
  };
}
