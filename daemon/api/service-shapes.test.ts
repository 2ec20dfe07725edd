import { describe, expect, it } from 'vitest';
import { RestartCondition, TaskState } from '../../gen/tswarm/v1/objects.js';
import { service, task } from '../../manager/tasks/testing/objects.js';
import {
  desiredStateFromDocker,
  dockerService,
  dockerServiceSpec,
  dockerTask,
  serviceCounts,
  serviceSpecFromDocker,
} from './service-shapes.js';

/** What `docker service create --name web --replicas 3 --constraint … --reserve-memory 64m busybox sleep 1d` sends. */
const dockerCreateBody = {
  Name: 'web',
  Labels: { team: 'a' },
  TaskTemplate: {
    ContainerSpec: {
      Image: 'busybox:latest',
      Args: ['sleep', '1d'],
      Env: ['A=1'],
      StopGracePeriod: 10_000_000_000,
      Healthcheck: { Test: ['CMD', 'true'], Interval: 2_000_000_000 },
      Init: false,
      DNSConfig: {},
      Isolation: 'default',
    },
    Resources: {
      Limits: { MemoryBytes: 134_217_728 },
      Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 67_108_864 },
    },
    RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
    Placement: {
      Constraints: ['node.role==worker'],
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      MaxReplicas: 2,
    },
    ForceUpdate: 0,
    Runtime: 'container',
  },
  Mode: { Replicated: { Replicas: 3 } },
  EndpointSpec: {
    Mode: 'vip',
    Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
  },
};

describe('service shapes', () => {
  it('reads Docker’s ServiceSpec into tswarm’s, nanoseconds as milliseconds', () => {
    const spec = serviceSpecFromDocker(dockerCreateBody);
    expect(spec.annotations).toEqual({ name: 'web', labels: { team: 'a' } });
    expect(spec.replicated).toEqual({ replicas: 3 });
    const t = spec.taskTemplate!;
    expect(t.container).toMatchObject({
      image: 'busybox:latest',
      args: ['sleep', '1d'],
      env: ['A=1'],
      stopGracePeriodMs: 10_000,
    });
    expect(t.container!.healthcheck).toMatchObject({ test: ['CMD', 'true'], intervalMs: 2_000 });
    expect(t.resources).toEqual({
      limits: { nanoCpus: 0, memoryBytes: 134_217_728, pids: 0 },
      reservations: { nanoCpus: 500_000_000, memoryBytes: 67_108_864, pids: 0 },
    });
    expect(t.restart).toMatchObject({ condition: RestartCondition.RESTART_CONDITION_ON_FAILURE, maxAttempts: 3 });
    expect(t.placement).toEqual({
      constraints: ['node.role==worker'],
      preferences: [{ spreadDescriptor: 'node.labels.zone' }],
      maxReplicasPerNode: 2,
      platforms: [],
    });
    expect(spec.endpoint!.ports[0]).toMatchObject({ targetPort: 80, publishedPort: 8080 });
  });

  it('round-trips: what inspect shows is what create took', () => {
    const shown = dockerServiceSpec(serviceSpecFromDocker(dockerCreateBody));
    expect(shown).toMatchObject({
      Name: 'web',
      Mode: { Replicated: { Replicas: 3 } },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '1d'], StopGracePeriod: 10_000_000_000 },
        Resources: { Reservations: { NanoCPUs: 500_000_000, MemoryBytes: 67_108_864 } },
        RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
        Placement: { Constraints: ['node.role==worker'], MaxReplicas: 2 },
      },
      EndpointSpec: { Mode: 'vip', Ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }] },
    });
    // An update sends back what inspect showed: it must read the same.
    expect(serviceSpecFromDocker(shown)).toEqual(serviceSpecFromDocker(dockerCreateBody));
  });

  it('defaults to one replica and refuses modes and fields it cannot run, naming them', () => {
    expect(serviceSpecFromDocker({ TaskTemplate: { ContainerSpec: { Image: 'x' } } }).replicated).toEqual({
      replicas: 1,
    });
    expect(serviceSpecFromDocker({ Mode: { Global: {} } })).toMatchObject({ global: {} });
    expect(serviceSpecFromDocker({ Mode: { Global: {} } }).replicated).toBeUndefined();
    expect(() => serviceSpecFromDocker({ Mode: { Global: {}, Replicated: { Replicas: 2 } } })).toThrow(
      'a service has one mode',
    );
    expect(serviceSpecFromDocker({ Mode: { ReplicatedJob: { TotalCompletions: 4, MaxConcurrent: 2 } } })).toMatchObject(
      {
        replicatedJob: { totalCompletions: 4, maxConcurrent: 2 },
      },
    );
    expect(serviceSpecFromDocker({ Mode: { ReplicatedJob: {} } }).replicatedJob).toEqual({
      totalCompletions: 1,
      maxConcurrent: 1,
    });
    expect(() => serviceSpecFromDocker({ Mode: { GlobalJob: {}, Global: {} } })).toThrow('a service has one mode');
    expect(() => serviceSpecFromDocker({ Mode: { Replicated: { Replicas: 1.5 } } })).toThrow(
      'Mode.Replicated.Replicas must be a whole number',
    );
    expect(() => serviceSpecFromDocker({ TaskTemplate: { RestartPolicy: { Condition: 'always' } } })).toThrow(
      'invalid TaskTemplate.RestartPolicy.Condition "always". Use none, on-failure, any',
    );
    expect(() => serviceSpecFromDocker({ TaskTemplate: { ContainerSpec: { Image: 3 } } })).toThrow(
      'TaskTemplate.ContainerSpec.Image must be a string, not number',
    );
  });

  it('reads member names case-insensitively, as Docker (Go’s encoding/json) does: the Python SDK’s lower-case mode', () => {
    // docker.types.ServiceMode('replicated', replicas=2) is sent as {"replicated": {"Replicas": 2}}.
    const spec = serviceSpecFromDocker({
      Name: 'py',
      Mode: { replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { image: 'busybox' } },
    });
    expect(spec.replicated).toEqual({ replicas: 2 });
    expect(spec.taskTemplate?.container?.image).toBe('busybox');
    // An exact match wins over another casing; the other modes are read in any casing too.
    expect(
      serviceSpecFromDocker({ Mode: { Replicated: { Replicas: 3 }, REPLICATED: { Replicas: 9 } } }).replicated,
    ).toEqual({ replicas: 3 });
    expect(serviceSpecFromDocker({ Mode: { global: {} } }).global).toEqual({});
    expect(serviceSpecFromDocker({ Mode: { replicatedjob: { TotalCompletions: 2 } } }).replicatedJob).toMatchObject({
      totalCompletions: 2,
    });
  });

  it('reads and shows every container setting the flags give, in Docker’s shape, and round-trips it', () => {
    const container = {
      Image: 'busybox:1',
      Command: ['sh', '-c'],
      Args: ['sleep 1d'],
      Hostname: 'web-1',
      Env: ['A=1'],
      Dir: '/data',
      User: '1000:1000',
      Groups: ['50'],
      Init: true,
      TTY: true,
      ReadOnly: true,
      Mounts: [
        { Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { NoCopy: true, Labels: { tier: 'db' } } },
        { Type: 'tmpfs', Source: '', Target: '/run', TmpfsOptions: { SizeBytes: 1_048_576, Mode: 0o1777 } },
        { Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: true },
      ],
      StopSignal: 'SIGUSR1',
      StopGracePeriod: 3_000_000_000,
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 4, StartPeriod: 5e9 },
      Hosts: ['10.0.0.5 db'],
      DNSConfig: { Nameservers: ['10.0.0.2'], Search: ['lab.test'], Options: ['ndots:2'] },
      Sysctls: { 'net.core.somaxconn': '512' },
      CapabilityAdd: ['CAP_NET_ADMIN'],
      CapabilityDrop: ['CAP_CHOWN'],
      Privileges: { NoNewPrivileges: true },
      Isolation: 'default',
    };
    const spec = serviceSpecFromDocker({
      Name: 'web',
      TaskTemplate: { ContainerSpec: container, Resources: { Limits: { Pids: 50 } } },
    });
    expect(spec.taskTemplate!.container).toMatchObject({
      mounts: [
        { source: 'data', volumeNoCopy: true, volumeLabels: { tier: 'db' } },
        { tmpfsSizeBytes: 1_048_576, tmpfsMode: 0o1777 },
        { source: '/srv', readOnly: true },
      ],
      tty: true,
      noNewPrivileges: true,
      healthcheck: { intervalMs: 1000, timeoutMs: 2000, retries: 4, startPeriodMs: 5000 },
    });
    const shown = dockerServiceSpec(spec).TaskTemplate as { ContainerSpec: unknown; Resources: unknown };
    expect(shown.ContainerSpec).toEqual({
      ...container,
      Mounts: [
        container.Mounts[0],
        { Type: 'tmpfs', Source: '', Target: '/run', TmpfsOptions: container.Mounts[1]!.TmpfsOptions },
        container.Mounts[2],
      ],
    });
    expect(shown.Resources).toEqual({ Limits: { NanoCPUs: 0, MemoryBytes: 0, Pids: 50 } });
    const again = serviceSpecFromDocker(dockerServiceSpec(spec)).taskTemplate!;
    expect([again.container, again.resources]).toEqual([spec.taskTemplate!.container, spec.taskTemplate!.resources]);
  });

  it('refuses what tswarm cannot honour, and negative counts, naming the field', () => {
    const c = (ContainerSpec: object) => () =>
      serviceSpecFromDocker({ TaskTemplate: { ContainerSpec: { Image: 'x', ...ContainerSpec } } });
    expect(c({ Secrets: [{ SecretName: 's' }] })).toThrow('TaskTemplate.ContainerSpec.Secrets is not supported');
    expect(c({ Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }] })).toThrow('Ulimits is not supported');
    expect(c({ Isolation: 'hyperv' })).toThrow('Isolation "hyperv" is not supported');
    expect(c({ Privileges: { Seccomp: { Mode: 'unconfined' } } })).toThrow('Privileges.Seccomp.Mode "unconfined"');
    expect(
      c({ Mounts: [{ Type: 'bind', Source: '/a', Target: '/b', BindOptions: { Propagation: 'shared' } }] }),
    ).toThrow('BindOptions.Propagation "shared" is not supported');
    expect(c({ Mounts: [{ Type: 'volume', Target: '/b', VolumeOptions: { DriverConfig: { Name: 'nfs' } } }] })).toThrow(
      'DriverConfig.Name "nfs" is not supported',
    );
    expect(c({ Mounts: [{ Type: 'npipe', Target: '/b' }] })).toThrow(
      'invalid TaskTemplate.ContainerSpec.Mounts[0].Type "npipe"',
    );
    expect(c({ Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } })).toThrow(
      'Healthcheck.Retries must be 0 or more, not -1',
    );
    expect(c({ Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000 } })).toThrow(
      'Healthcheck.Interval 500000 ns is below the minimum of 1 ms',
    );
    expect(() => serviceSpecFromDocker({ TaskTemplate: { RestartPolicy: { MaxAttempts: -1 } } })).toThrow(
      'TaskTemplate.RestartPolicy.MaxAttempts must be 0 or more, not -1',
    );
    expect(() => serviceSpecFromDocker({ Mode: { Replicated: { Replicas: -2 } } })).toThrow(
      'Mode.Replicated.Replicas must be 0 or more, not -2',
    );
  });

  it('shows a service with its version and ServiceStatus counted over live nodes', () => {
    const svc = service('svc', 3);
    const tasks = [
      task({ id: 't1', nodeId: 'n1', state: TaskState.TASK_STATE_RUNNING }),
      task({ id: 't2', nodeId: 'n2', state: TaskState.TASK_STATE_RUNNING }),
      task({ id: 't3', nodeId: 'n3', state: TaskState.TASK_STATE_ASSIGNED }),
      task({ id: 't4', nodeId: 'n1', state: TaskState.TASK_STATE_RUNNING, desired: TaskState.TASK_STATE_SHUTDOWN }),
    ];
    const counts = serviceCounts(svc, tasks, new Set(['n1', 'n3']));
    expect(counts).toEqual({ RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 });
    expect(dockerService(svc, counts)).toMatchObject({ ID: 'svc', Version: { Index: 1 }, ServiceStatus: counts });
  });

  it('shows a task in Docker’s words: state, desired state, node, slot, the scheduler’s reason', () => {
    const t = task({ id: 't1', serviceId: 'svc', slot: 2, state: TaskState.TASK_STATE_PENDING });
    t.status!.err = 'no suitable node (insufficient memory on 3 nodes)';
    expect(dockerTask(t)).toMatchObject({
      ID: 't1',
      ServiceID: 'svc',
      Slot: 2,
      Status: { State: 'pending', Err: 'no suitable node (insufficient memory on 3 nodes)' },
      DesiredState: 'running',
    });
    expect(dockerTask(t)).not.toHaveProperty('NodeID');
    expect(desiredStateFromDocker('shutdown')).toBe(TaskState.TASK_STATE_SHUTDOWN);
    expect(() => desiredStateFromDocker('sleeping')).toThrow('Invalid desired-state filter value sleeping');
  });
});
