import {
  NodeAvailability,
  NodeRole,
  NodeState,
  RestartCondition,
  TaskState,
  type Node,
  type Service,
  type Task,
  type TaskSpec,
} from '../../../gen/tswarm/v1/objects.js';

/** Nodes, services and tasks for the pure cores' tests, built without a store. */

export interface NodeOptions {
  id: string;
  hostname?: string;
  role?: 'worker' | 'manager';
  state?: NodeState;
  availability?: NodeAvailability;
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  nanoCpus?: number;
  memoryBytes?: number;
  os?: string;
  arch?: string;
}

export function node(o: NodeOptions): Node {
  const role = o.role === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER;
  return {
    id: o.id,
    meta: undefined,
    spec: {
      annotations: { name: '', labels: o.labels ?? {} },
      desiredRole: role,
      availability: o.availability ?? NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    description: {
      hostname: o.hostname ?? o.id,
      platform: { os: o.os ?? 'linux', architecture: o.arch ?? 'x64' },
      resources: { nanoCpus: o.nanoCpus ?? 4e9, memoryBytes: o.memoryBytes ?? 8 * 2 ** 30, pids: 0 },
      engineVersion: '',
      engineLabels: o.engineLabels ?? {},
    },
    status: { state: o.state ?? NodeState.NODE_STATE_READY, message: '', addr: '' },
    managerStatus: undefined,
    role,
    certificate: undefined,
    trustRootDigest: '',
  };
}

export interface SpecOptions {
  constraints?: string[];
  spread?: string[];
  maxReplicasPerNode?: number;
  platforms?: { os: string; architecture: string }[];
  reserveNanoCpus?: number;
  reserveMemoryBytes?: number;
  restart?: RestartCondition;
  /** Unset: the policy leaves the delay out (Docker's default). */
  restartDelayMs?: number;
  restartMaxAttempts?: number;
  restartWindowMs?: number;
}

export function taskSpec(o: SpecOptions = {}): TaskSpec {
  return {
    container: undefined,
    resources: {
      limits: undefined,
      reservations: { nanoCpus: o.reserveNanoCpus ?? 0, memoryBytes: o.reserveMemoryBytes ?? 0, pids: 0 },
    },
    restart:
      o.restart === undefined
        ? undefined
        : {
            condition: o.restart,
            ...(o.restartDelayMs === undefined ? {} : { delayMs: o.restartDelayMs }),
            maxAttempts: o.restartMaxAttempts ?? 0,
            windowMs: o.restartWindowMs ?? 0,
          },
    placement: {
      constraints: o.constraints ?? [],
      preferences: (o.spread ?? []).map((spreadDescriptor) => ({ spreadDescriptor })),
      maxReplicasPerNode: o.maxReplicasPerNode ?? 0,
      platforms: o.platforms ?? [],
    },
    networks: [],
    logDriver: undefined,
    forceUpdate: 0,
  };
}

export interface TaskOptions extends SpecOptions {
  id: string;
  serviceId?: string;
  slot?: number;
  nodeId?: string;
  state?: TaskState;
  desired?: TaskState;
  createdAtMs?: number;
  /** When it entered `state` (status.timestampMs). */
  stateAtMs?: number;
  restartCount?: number;
  restartTimesMs?: number[];
}

export function task(o: TaskOptions): Task {
  return {
    id: o.id,
    meta: { id: o.id, version: 1, createdAtMs: o.createdAtMs ?? 0, updatedAtMs: o.createdAtMs ?? 0 },
    spec: taskSpec(o),
    serviceId: o.serviceId ?? 'svc',
    slot: o.slot ?? 0,
    nodeId: o.nodeId ?? '',
    annotations: undefined,
    serviceAnnotations: undefined,
    status: {
      timestampMs: o.stateAtMs ?? 0,
      state: o.state ?? (o.nodeId ? TaskState.TASK_STATE_RUNNING : TaskState.TASK_STATE_PENDING),
      message: '',
      err: '',
      containerStatus: undefined,
      portStatus: undefined,
      history: [],
    },
    desiredState: o.desired ?? TaskState.TASK_STATE_RUNNING,
    networks: [],
    endpoint: undefined,
    specVersion: 1,
    restartCount: o.restartCount ?? 0,
    restartTimesMs: o.restartTimesMs ?? [],
  };
}

export function service(id: string, replicas: number, spec: SpecOptions = {}): Service {
  return {
    id,
    meta: { id, version: 1, createdAtMs: 0, updatedAtMs: 0 },
    spec: {
      annotations: { name: id, labels: {} },
      taskTemplate: taskSpec(spec),
      replicated: { replicas },
      updateConfig: undefined,
      rollbackConfig: undefined,
      endpoint: undefined,
    },
    previousSpec: undefined,
    endpoint: undefined,
    updateStatus: undefined,
    specVersion: 1,
  };
}

/** A global service (`--mode global`): one task per eligible node. */
export function globalService(id: string, spec: SpecOptions = {}): Service {
  const s = service(id, 0, spec);
  return { ...s, spec: { ...s.spec!, replicated: undefined, global: {} } };
}
