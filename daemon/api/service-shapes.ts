import {
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  TaskState,
  type ContainerSpec,
  type EndpointSpec,
  type HealthConfig,
  type Mount,
  type Resources,
  type Service,
  type ServiceSpec,
  type Task,
  type TaskSpec,
} from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import { field, refuseIfSet, stringArray, stringMap, type JsonObject } from './body.js';
import { isoTime } from './swarm-shapes.js';
import { dockerSlot } from '../../lib/task-slot.js';

/**
 * Docker's service and task objects (moby's api/swagger.yaml: ServiceSpec, Service, Task) and
 * tswarm's protos, converted at the API edge as dockerd converts SwarmKit's. Durations are
 * nanoseconds in Docker's JSON and milliseconds in tswarm's objects.
 */

const NS_PER_MS = 1_000_000;
const msFromNs = (ns: number | undefined) => (ns === undefined ? 0 : Math.round(ns / NS_PER_MS));
const nsFromMs = (ms: number | undefined) => (ms ?? 0) * NS_PER_MS;
/** A duration Docker leaves out when unset, where unset means a default (`RestartPolicy.Delay`). */
const optionalMs = <K extends string>(key: K, ns: number | undefined) =>
  (ns === undefined ? {} : { [key]: msFromNs(ns) }) as Partial<Record<K, number>>;

/** A field that must be a whole number (replicas, bytes, nanoseconds), named in the error. */
function integer(obj: JsonObject | undefined, name: string, path: string): number | undefined {
  const v = field(obj, name, 'number', path);
  if (v !== undefined && !Number.isSafeInteger(v))
    throw new TswarmError('INVALID_ARGUMENT', `${path} must be a whole number, not ${v}`);
  return v;
}

/** A count tswarm keeps unsigned (retries, attempts, a mode): a negative one is refused here, not wrapped. */
function unsigned(obj: JsonObject | undefined, name: string, path: string): number | undefined {
  const v = integer(obj, name, path);
  if (v !== undefined && v < 0) throw new TswarmError('INVALID_ARGUMENT', `${path} must be 0 or more, not ${v}`);
  return v;
}

function object(obj: JsonObject | undefined, name: string, path: string): JsonObject | undefined {
  return field(obj, name, 'object', path);
}

const RESTART: Record<string, RestartCondition> = {
  none: RestartCondition.RESTART_CONDITION_NONE,
  'on-failure': RestartCondition.RESTART_CONDITION_ON_FAILURE,
  any: RestartCondition.RESTART_CONDITION_ANY,
};
const MOUNT: Record<string, MountType> = {
  bind: MountType.MOUNT_TYPE_BIND,
  volume: MountType.MOUNT_TYPE_VOLUME,
  tmpfs: MountType.MOUNT_TYPE_TMPFS,
};
const PROTOCOL: Record<string, PortProtocol> = {
  tcp: PortProtocol.PORT_PROTOCOL_TCP,
  udp: PortProtocol.PORT_PROTOCOL_UDP,
  sctp: PortProtocol.PORT_PROTOCOL_SCTP,
};
const PUBLISH: Record<string, PublishMode> = {
  ingress: PublishMode.PUBLISH_MODE_INGRESS,
  host: PublishMode.PUBLISH_MODE_HOST,
};
const ENDPOINT: Record<string, EndpointMode> = {
  vip: EndpointMode.ENDPOINT_MODE_VIP,
  dnsrr: EndpointMode.ENDPOINT_MODE_DNSRR,
};

function word<T>(table: Record<string, T>, value: string | undefined, path: string, fallback: T): T {
  if (value === undefined || value === '') return fallback;
  const found = table[value];
  if (found === undefined)
    throw new TswarmError('INVALID_ARGUMENT', `invalid ${path} "${value}". Use ${Object.keys(table).join(', ')}`);
  return found;
}

function nameOf<T>(table: Record<string, T>, value: T): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? '';
}

function resourcesFromDocker(obj: JsonObject | undefined, path: string): Resources | undefined {
  if (!obj) return undefined;
  return {
    nanoCpus: integer(obj, 'NanoCPUs', `${path}.NanoCPUs`) ?? 0,
    memoryBytes: integer(obj, 'MemoryBytes', `${path}.MemoryBytes`) ?? 0,
    pids: integer(obj, 'Pids', `${path}.Pids`) ?? 0,
  };
}

/** Mount options tswarm's engine does not apply: refused when set, never dropped silently. */
function refuseUnsupportedMountOptions(o: JsonObject, path: string): void {
  const bind = object(o, 'BindOptions', `${path}.BindOptions`);
  const propagation = field(bind, 'Propagation', 'string', `${path}.BindOptions.Propagation`) ?? '';
  if (propagation !== '' && propagation !== 'rprivate')
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${path}.BindOptions.Propagation "${propagation}" is not supported: bind mounts are rprivate. Leave bind-propagation out`,
    );
  for (const key of ['NonRecursive', 'CreateMountpoint', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive'])
    refuseIfSet(bind, key, `${path}.BindOptions.${key}`, 'bind mounts are recursive and need an existing source');
  const volume = object(o, 'VolumeOptions', `${path}.VolumeOptions`);
  const driver = field(object(volume, 'DriverConfig', `${path}.VolumeOptions.DriverConfig`), 'Name', 'string');
  if (driver !== undefined && driver !== '' && driver !== 'local')
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${path}.VolumeOptions.DriverConfig.Name "${driver}" is not supported: volumes use the local driver. Leave volume-driver out`,
    );
  refuseIfSet(
    object(volume, 'DriverConfig', `${path}.VolumeOptions.DriverConfig`),
    'Options',
    `${path}.VolumeOptions.DriverConfig.Options`,
    'the local driver takes no options',
  );
  refuseIfSet(volume, 'Subpath', `${path}.VolumeOptions.Subpath`, 'a volume is mounted whole');
  const tmpfs = object(o, 'TmpfsOptions', `${path}.TmpfsOptions`);
  refuseIfSet(tmpfs, 'Options', `${path}.TmpfsOptions.Options`, 'give tmpfs-size and tmpfs-mode only');
}

function mountFromDocker(m: unknown, path: string): Mount {
  if (m === null || typeof m !== 'object' || Array.isArray(m))
    throw new TswarmError('INVALID_ARGUMENT', `${path} must be an object`);
  const o = m as JsonObject;
  refuseUnsupportedMountOptions(o, path);
  const tmpfs = object(o, 'TmpfsOptions', `${path}.TmpfsOptions`);
  const volume = object(o, 'VolumeOptions', `${path}.VolumeOptions`);
  return {
    type: word(MOUNT, field(o, 'Type', 'string', `${path}.Type`), `${path}.Type`, MountType.MOUNT_TYPE_VOLUME),
    source: field(o, 'Source', 'string', `${path}.Source`) ?? '',
    target: field(o, 'Target', 'string', `${path}.Target`) ?? '',
    readOnly: field(o, 'ReadOnly', 'boolean', `${path}.ReadOnly`) ?? false,
    tmpfsSizeBytes: integer(tmpfs, 'SizeBytes', `${path}.TmpfsOptions.SizeBytes`) ?? 0,
    tmpfsMode: unsigned(tmpfs, 'Mode', `${path}.TmpfsOptions.Mode`) ?? 0,
    volumeLabels: stringMap(volume, 'Labels', `${path}.VolumeOptions.Labels`) ?? {},
    volumeNoCopy: field(volume, 'NoCopy', 'boolean', `${path}.VolumeOptions.NoCopy`) ?? false,
  };
}

/**
 * ContainerSpec fields of Docker's that tswarm cannot honour yet: refused when set, so a service
 * never runs without what its owner asked for. (The docker CLI sends `Isolation: "default"` and
 * leaves the others out unless their flags are given.)
 */
function refuseUnsupportedContainerFields(c: JsonObject | undefined, p: string): void {
  refuseIfSet(c, 'Secrets', `${p}.Secrets`, 'secrets are not supported yet');
  refuseIfSet(c, 'Configs', `${p}.Configs`, 'configs are not supported yet');
  refuseIfSet(c, 'Ulimits', `${p}.Ulimits`, 'tasks inherit the daemon’s ulimits');
  refuseIfSet(c, 'OomScoreAdj', `${p}.OomScoreAdj`, 'the OOM score is the engine’s default');
  refuseIfSet(c, 'OpenStdin', `${p}.OpenStdin`, 'a task has no stdin');
  const isolation = field(c, 'Isolation', 'string', `${p}.Isolation`) ?? '';
  if (isolation !== '' && isolation !== 'default')
    throw new TswarmError('INVALID_ARGUMENT', `${p}.Isolation "${isolation}" is not supported. Use default`);
  const privileges = object(c, 'Privileges', `${p}.Privileges`);
  for (const key of ['CredentialSpec', 'SELinuxContext'])
    refuseIfSet(privileges, key, `${p}.Privileges.${key}`, 'only NoNewPrivileges is supported');
  for (const [key, fine] of [
    ['Seccomp', 'default'],
    ['AppArmor', 'default'],
  ] as const) {
    const mode = field(object(privileges, key, `${p}.Privileges.${key}`), 'Mode', 'string') ?? '';
    if (mode !== '' && mode !== fine)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `${p}.Privileges.${key}.Mode "${mode}" is not supported: tasks run with Docker's default profile`,
      );
  }
}

/** A health timing in nanoseconds: 0 for the default, else at least 1 ms (Docker's rule), never rounded up to it. */
function healthTimingMs(health: JsonObject, name: string, path: string): number {
  const ns = integer(health, name, path) ?? 0;
  if (ns > 0 && ns < NS_PER_MS)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${path} ${ns} ns is below the minimum of 1 ms. Give 0 (the default) or 1ms or more`,
    );
  return msFromNs(ns);
}

function healthFromDocker(health: JsonObject | undefined, p: string): HealthConfig | undefined {
  if (!health) return undefined;
  refuseIfSet(health, 'StartInterval', `${p}.StartInterval`, 'the start period uses the interval');
  return {
    test: stringArray(health, 'Test', `${p}.Test`) ?? [],
    intervalMs: healthTimingMs(health, 'Interval', `${p}.Interval`),
    timeoutMs: healthTimingMs(health, 'Timeout', `${p}.Timeout`),
    retries: unsigned(health, 'Retries', `${p}.Retries`) ?? 0,
    startPeriodMs: healthTimingMs(health, 'StartPeriod', `${p}.StartPeriod`),
  };
}

function containerFromDocker(c: JsonObject | undefined): ContainerSpec {
  const p = 'TaskTemplate.ContainerSpec';
  refuseUnsupportedContainerFields(c, p);
  const dns = object(c, 'DNSConfig', `${p}.DNSConfig`);
  const grace = integer(c, 'StopGracePeriod', `${p}.StopGracePeriod`);
  const privileges = object(c, 'Privileges', `${p}.Privileges`);
  return {
    image: field(c, 'Image', 'string', `${p}.Image`) ?? '',
    // Docker's ContainerSpec has no such field: credentials come in the X-Registry-Auth header.
    pullOptions: undefined,
    labels: stringMap(c, 'Labels', `${p}.Labels`) ?? {},
    command: stringArray(c, 'Command', `${p}.Command`) ?? [],
    args: stringArray(c, 'Args', `${p}.Args`) ?? [],
    hostname: field(c, 'Hostname', 'string', `${p}.Hostname`) ?? '',
    env: stringArray(c, 'Env', `${p}.Env`) ?? [],
    dir: field(c, 'Dir', 'string', `${p}.Dir`) ?? '',
    user: field(c, 'User', 'string', `${p}.User`) ?? '',
    groups: stringArray(c, 'Groups', `${p}.Groups`) ?? [],
    init: field(c, 'Init', 'boolean', `${p}.Init`) ?? false,
    tty: field(c, 'TTY', 'boolean', `${p}.TTY`) ?? false,
    openStdin: field(c, 'OpenStdin', 'boolean', `${p}.OpenStdin`) ?? false,
    stdinOnce: false,
    readOnly: field(c, 'ReadOnly', 'boolean', `${p}.ReadOnly`) ?? false,
    mounts: (field(c, 'Mounts', 'array', `${p}.Mounts`) ?? []).map((m, i) => mountFromDocker(m, `${p}.Mounts[${i}]`)),
    stopSignal: field(c, 'StopSignal', 'string', `${p}.StopSignal`) ?? '',
    stopGracePeriodMs: grace === undefined ? undefined : msFromNs(grace),
    healthcheck: healthFromDocker(object(c, 'Healthcheck', `${p}.Healthcheck`), `${p}.Healthcheck`),
    hosts: stringArray(c, 'Hosts', `${p}.Hosts`) ?? [],
    dnsNameservers: stringArray(dns, 'Nameservers', `${p}.DNSConfig.Nameservers`) ?? [],
    dnsSearch: stringArray(dns, 'Search', `${p}.DNSConfig.Search`) ?? [],
    dnsOptions: stringArray(dns, 'Options', `${p}.DNSConfig.Options`) ?? [],
    capabilityAdd: stringArray(c, 'CapabilityAdd', `${p}.CapabilityAdd`) ?? [],
    capabilityDrop: stringArray(c, 'CapabilityDrop', `${p}.CapabilityDrop`) ?? [],
    noNewPrivileges: field(privileges, 'NoNewPrivileges', 'boolean', `${p}.Privileges.NoNewPrivileges`) ?? false,
    sysctls: stringMap(c, 'Sysctls', `${p}.Sysctls`) ?? {},
  };
}

function taskSpecFromDocker(t: JsonObject | undefined): TaskSpec {
  const p = 'TaskTemplate';
  const resources = object(t, 'Resources', `${p}.Resources`);
  const restart = object(t, 'RestartPolicy', `${p}.RestartPolicy`);
  const placement = object(t, 'Placement', `${p}.Placement`);
  const preferences = (field(placement, 'Preferences', 'array', `${p}.Placement.Preferences`) ?? []).map((pref, i) => {
    const spread = object(pref as JsonObject, 'Spread', `${p}.Placement.Preferences[${i}].Spread`);
    return {
      spreadDescriptor:
        field(spread, 'SpreadDescriptor', 'string', `${p}.Placement.Preferences[${i}].Spread.SpreadDescriptor`) ?? '',
    };
  });
  const platforms = (field(placement, 'Platforms', 'array', `${p}.Placement.Platforms`) ?? []).map((pl) => ({
    os: field(pl as JsonObject, 'OS', 'string') ?? '',
    architecture: field(pl as JsonObject, 'Architecture', 'string') ?? '',
  }));
  const logDriver = object(t, 'LogDriver', `${p}.LogDriver`);
  return {
    container: containerFromDocker(object(t, 'ContainerSpec', `${p}.ContainerSpec`)),
    resources: resources && {
      limits: resourcesFromDocker(object(resources, 'Limits', `${p}.Resources.Limits`), `${p}.Resources.Limits`),
      reservations: resourcesFromDocker(
        object(resources, 'Reservations', `${p}.Resources.Reservations`),
        `${p}.Resources.Reservations`,
      ),
    },
    restart: restart && {
      condition: word(
        RESTART,
        field(restart, 'Condition', 'string', `${p}.RestartPolicy.Condition`),
        `${p}.RestartPolicy.Condition`,
        RestartCondition.RESTART_CONDITION_ANY,
      ),
      ...optionalMs('delayMs', integer(restart, 'Delay', `${p}.RestartPolicy.Delay`)),
      maxAttempts: unsigned(restart, 'MaxAttempts', `${p}.RestartPolicy.MaxAttempts`) ?? 0,
      windowMs: msFromNs(integer(restart, 'Window', `${p}.RestartPolicy.Window`)),
    },
    placement: placement && {
      constraints: stringArray(placement, 'Constraints', `${p}.Placement.Constraints`) ?? [],
      preferences,
      maxReplicasPerNode: unsigned(placement, 'MaxReplicas', `${p}.Placement.MaxReplicas`) ?? 0,
      platforms,
    },
    networks: (field(t, 'Networks', 'array', `${p}.Networks`) ?? []).map((n) => ({
      target: field(n as JsonObject, 'Target', 'string') ?? '',
      aliases: stringArray(n as JsonObject, 'Aliases') ?? [],
    })),
    logDriver: logDriver && {
      name: field(logDriver, 'Name', 'string', `${p}.LogDriver.Name`) ?? '',
      options: stringMap(logDriver, 'Options', `${p}.LogDriver.Options`) ?? {},
    },
    forceUpdate: unsigned(t, 'ForceUpdate', `${p}.ForceUpdate`) ?? 0,
  };
}

function endpointFromDocker(e: JsonObject | undefined): EndpointSpec | undefined {
  if (!e) return undefined;
  return {
    mode: word(
      ENDPOINT,
      field(e, 'Mode', 'string', 'EndpointSpec.Mode'),
      'EndpointSpec.Mode',
      EndpointMode.ENDPOINT_MODE_VIP,
    ),
    ports: (field(e, 'Ports', 'array', 'EndpointSpec.Ports') ?? []).map((raw, i) => {
      const port = raw as JsonObject;
      const path = `EndpointSpec.Ports[${i}]`;
      const target = integer(port, 'TargetPort', `${path}.TargetPort`) ?? 0;
      const published = integer(port, 'PublishedPort', `${path}.PublishedPort`) ?? 0;
      for (const [n, v] of [
        ['TargetPort', target],
        ['PublishedPort', published],
      ] as const)
        if (v < 0 || v > 65_535)
          throw new TswarmError('INVALID_ARGUMENT', `${path}.${n} ${v} is not a port (0 to 65535)`);
      if (target === 0) throw new TswarmError('INVALID_ARGUMENT', `${path}.TargetPort is required`);
      return {
        name: field(port, 'Name', 'string', `${path}.Name`) ?? '',
        protocol: word(
          PROTOCOL,
          field(port, 'Protocol', 'string', `${path}.Protocol`),
          `${path}.Protocol`,
          PortProtocol.PORT_PROTOCOL_TCP,
        ),
        targetPort: target,
        publishedPort: published,
        publishMode: word(
          PUBLISH,
          field(port, 'PublishMode', 'string', `${path}.PublishMode`),
          `${path}.PublishMode`,
          PublishMode.PUBLISH_MODE_INGRESS,
        ),
      };
    }),
  };
}

/** The one mode given; none: Docker's default, one replica. */
function modeFromDocker(
  replicated: JsonObject | undefined,
  global: JsonObject | undefined,
  replicatedJob: JsonObject | undefined,
  globalJob: JsonObject | undefined,
): Pick<ServiceSpec, 'replicated' | 'global' | 'replicatedJob' | 'globalJob'> {
  if (global) return { global: {} };
  if (globalJob) return { globalJob: {} };
  if (replicatedJob)
    return {
      replicatedJob: {
        // Docker's defaults: one completion, one at a time.
        totalCompletions: unsigned(replicatedJob, 'TotalCompletions', 'Mode.ReplicatedJob.TotalCompletions') ?? 1,
        maxConcurrent: unsigned(replicatedJob, 'MaxConcurrent', 'Mode.ReplicatedJob.MaxConcurrent') ?? 1,
      },
    };
  return { replicated: { replicas: unsigned(replicated, 'Replicas', 'Mode.Replicated.Replicas') ?? 1 } };
}

/** Docker's `ServiceSpec` (the body of `POST /services/create` and `/services/{id}/update`) as tswarm's. */
export function serviceSpecFromDocker(body: JsonObject): ServiceSpec {
  const mode = object(body, 'Mode', 'Mode');
  const replicated = object(mode, 'Replicated', 'Mode.Replicated');
  const global = object(mode, 'Global', 'Mode.Global');
  const replicatedJob = object(mode, 'ReplicatedJob', 'Mode.ReplicatedJob');
  const globalJob = object(mode, 'GlobalJob', 'Mode.GlobalJob');
  if ([replicated, global, replicatedJob, globalJob].filter((m) => m !== undefined).length > 1)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      'a service has one mode: Mode.Replicated, Mode.Global, Mode.ReplicatedJob or Mode.GlobalJob',
    );
  return {
    annotations: { name: field(body, 'Name', 'string') ?? '', labels: stringMap(body, 'Labels') ?? {} },
    taskTemplate: taskSpecFromDocker(object(body, 'TaskTemplate', 'TaskTemplate')),
    // Docker's default when Mode is left out: one replica.
    ...modeFromDocker(replicated, global, replicatedJob, globalJob),
    updateConfig: undefined,
    rollbackConfig: undefined,
    endpoint: endpointFromDocker(object(body, 'EndpointSpec', 'EndpointSpec')),
  };
}

function dockerResources(r: Resources | undefined): Record<string, number> | undefined {
  if (!r) return undefined;
  return { NanoCPUs: r.nanoCpus, MemoryBytes: r.memoryBytes, ...(r.pids ? { Pids: r.pids } : {}) };
}

/** A mount as Docker shows it: the options of its type only. */
function dockerMount(m: Mount): Record<string, unknown> {
  const labels = Object.keys(m.volumeLabels).length ? { Labels: m.volumeLabels } : {};
  return {
    Type: nameOf(MOUNT, m.type),
    Source: m.source,
    Target: m.target,
    ...(m.readOnly ? { ReadOnly: true } : {}),
    ...(m.type === MountType.MOUNT_TYPE_VOLUME && (m.volumeNoCopy || labels.Labels)
      ? { VolumeOptions: { ...(m.volumeNoCopy ? { NoCopy: true } : {}), ...labels } }
      : {}),
    ...(m.type === MountType.MOUNT_TYPE_TMPFS && (m.tmpfsSizeBytes || m.tmpfsMode)
      ? {
          TmpfsOptions: {
            ...(m.tmpfsSizeBytes ? { SizeBytes: m.tmpfsSizeBytes } : {}),
            ...(m.tmpfsMode ? { Mode: m.tmpfsMode } : {}),
          },
        }
      : {}),
  };
}

function dockerTaskSpec(t: TaskSpec | undefined): Record<string, unknown> {
  const c = t?.container;
  return {
    ContainerSpec: c && {
      Image: c.image,
      ...(Object.keys(c.labels).length ? { Labels: c.labels } : {}),
      ...(c.command.length ? { Command: c.command } : {}),
      ...(c.args.length ? { Args: c.args } : {}),
      ...(c.hostname ? { Hostname: c.hostname } : {}),
      ...(c.env.length ? { Env: c.env } : {}),
      ...(c.dir ? { Dir: c.dir } : {}),
      ...(c.user ? { User: c.user } : {}),
      ...(c.groups.length ? { Groups: c.groups } : {}),
      ...(c.init ? { Init: true } : {}),
      ...(c.tty ? { TTY: true } : {}),
      ...(c.readOnly ? { ReadOnly: true } : {}),
      ...(c.mounts.length ? { Mounts: c.mounts.map(dockerMount) } : {}),
      ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
      ...(c.stopGracePeriodMs !== undefined ? { StopGracePeriod: nsFromMs(c.stopGracePeriodMs) } : {}),
      ...(c.healthcheck
        ? {
            Healthcheck: {
              Test: c.healthcheck.test,
              Interval: nsFromMs(c.healthcheck.intervalMs),
              Timeout: nsFromMs(c.healthcheck.timeoutMs),
              Retries: c.healthcheck.retries,
              StartPeriod: nsFromMs(c.healthcheck.startPeriodMs),
            },
          }
        : {}),
      ...(c.hosts.length ? { Hosts: c.hosts } : {}),
      ...(c.dnsNameservers.length || c.dnsSearch.length || c.dnsOptions.length
        ? {
            DNSConfig: {
              ...(c.dnsNameservers.length ? { Nameservers: c.dnsNameservers } : {}),
              ...(c.dnsSearch.length ? { Search: c.dnsSearch } : {}),
              ...(c.dnsOptions.length ? { Options: c.dnsOptions } : {}),
            },
          }
        : {}),
      ...(Object.keys(c.sysctls).length ? { Sysctls: c.sysctls } : {}),
      ...(c.capabilityAdd.length ? { CapabilityAdd: c.capabilityAdd } : {}),
      ...(c.capabilityDrop.length ? { CapabilityDrop: c.capabilityDrop } : {}),
      ...(c.noNewPrivileges ? { Privileges: { NoNewPrivileges: true } } : {}),
      Isolation: 'default',
    },
    Resources: {
      ...(t?.resources?.limits ? { Limits: dockerResources(t.resources.limits) } : {}),
      ...(t?.resources?.reservations ? { Reservations: dockerResources(t.resources.reservations) } : {}),
    },
    ...(t?.restart
      ? {
          RestartPolicy: {
            Condition: nameOf(RESTART, t.restart.condition) || 'any',
            // Left out when unset, as Docker does: the default (5 s) applies, and an update that
            // sends back what inspect showed changes nothing.
            ...(t.restart.delayMs !== undefined ? { Delay: nsFromMs(t.restart.delayMs) } : {}),
            MaxAttempts: t.restart.maxAttempts,
            ...(t.restart.windowMs ? { Window: nsFromMs(t.restart.windowMs) } : {}),
          },
        }
      : {}),
    Placement: {
      ...(t?.placement?.constraints.length ? { Constraints: t.placement.constraints } : {}),
      ...(t?.placement?.preferences.length
        ? { Preferences: t.placement.preferences.map((p) => ({ Spread: { SpreadDescriptor: p.spreadDescriptor } })) }
        : {}),
      ...(t?.placement?.maxReplicasPerNode ? { MaxReplicas: t.placement.maxReplicasPerNode } : {}),
      ...(t?.placement?.platforms.length
        ? { Platforms: t.placement.platforms.map((p) => ({ Architecture: p.architecture, OS: p.os })) }
        : {}),
    },
    ForceUpdate: t?.forceUpdate ?? 0,
    Runtime: 'container',
  };
}

function dockerMode(spec: ServiceSpec | undefined): Record<string, unknown> {
  if (spec?.global) return { Global: {} };
  if (spec?.globalJob) return { GlobalJob: {} };
  const job = spec?.replicatedJob;
  if (job) return { ReplicatedJob: { MaxConcurrent: job.maxConcurrent, TotalCompletions: job.totalCompletions } };
  return { Replicated: { Replicas: spec?.replicated?.replicas ?? 0 } };
}

export function dockerServiceSpec(spec: ServiceSpec | undefined): Record<string, unknown> {
  const ports = spec?.endpoint?.ports ?? [];
  return {
    Name: spec?.annotations?.name ?? '',
    Labels: spec?.annotations?.labels ?? {},
    TaskTemplate: dockerTaskSpec(spec?.taskTemplate),
    Mode: dockerMode(spec),
    EndpointSpec: {
      Mode: nameOf(ENDPOINT, spec?.endpoint?.mode ?? EndpointMode.ENDPOINT_MODE_VIP) || 'vip',
      ...(ports.length
        ? {
            Ports: ports.map((p) => ({
              ...(p.name ? { Name: p.name } : {}),
              Protocol: nameOf(PROTOCOL, p.protocol) || 'tcp',
              TargetPort: p.targetPort,
              PublishedPort: p.publishedPort,
              PublishMode: nameOf(PUBLISH, p.publishMode) || 'ingress',
            })),
          }
        : {}),
    },
  };
}

/** Docker's `ServiceStatus` (`GET /services?status=true`): what `docker service ls` shows as REPLICAS. */
export interface ServiceCounts {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

/**
 * Counted as dockerd does: running tasks meant to run, on nodes that are up; a global service
 * desires one task per node it has a task meant to run on (a node that is up); a replicated job
 * as many as may run now — at most MaxConcurrent, and no more than the completions left.
 */
export function serviceCounts(service: Service, tasks: readonly Task[], liveNodes: ReadonlySet<string>): ServiceCounts {
  let running = 0;
  let completed = 0;
  let onLiveNodes = 0;
  for (const t of tasks) {
    if (t.desiredState !== TaskState.TASK_STATE_RUNNING && t.desiredState !== TaskState.TASK_STATE_COMPLETE) continue;
    if (t.status?.state === TaskState.TASK_STATE_COMPLETE) {
      completed++;
      continue;
    }
    if (liveNodes.has(t.nodeId)) onLiveNodes++;
    if (t.status?.state === TaskState.TASK_STATE_RUNNING && liveNodes.has(t.nodeId)) running++;
  }
  const spec = service.spec;
  const job = spec?.replicatedJob;
  const desired = job
    ? Math.max(0, Math.min(job.maxConcurrent || 1, job.totalCompletions - completed))
    : spec?.global || spec?.globalJob
      ? onLiveNodes
      : (spec?.replicated?.replicas ?? 0);
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}

export function dockerService(service: Service, counts?: ServiceCounts): Record<string, unknown> {
  return {
    ID: service.id,
    Version: { Index: service.meta?.version ?? 0 },
    CreatedAt: isoTime(service.meta?.createdAtMs),
    UpdatedAt: isoTime(service.meta?.updatedAtMs),
    Spec: dockerServiceSpec(service.spec),
    ...(service.previousSpec ? { PreviousSpec: dockerServiceSpec(service.previousSpec) } : {}),
    Endpoint: { Spec: dockerServiceSpec(service.spec).EndpointSpec },
    ...(counts ? { ServiceStatus: counts } : {}),
    // Docker's JobStatus: only a job has one (the docker CLI tells jobs apart by it). An update
    // of a job runs it again, so its run is the spec version.
    ...(service.spec?.replicatedJob || service.spec?.globalJob
      ? {
          JobStatus: {
            JobIteration: { Index: service.specVersion ?? 0 },
            LastExecution: isoTime(service.meta?.updatedAtMs),
          },
        }
      : {}),
  };
}

/** Docker's task state words (moby's TaskState), tswarm's states in the same order. */
const TASK_STATE: Record<number, string> = {
  [TaskState.TASK_STATE_NEW]: 'new',
  [TaskState.TASK_STATE_PENDING]: 'pending',
  [TaskState.TASK_STATE_ASSIGNED]: 'assigned',
  [TaskState.TASK_STATE_ACCEPTED]: 'accepted',
  [TaskState.TASK_STATE_PREPARING]: 'preparing',
  [TaskState.TASK_STATE_READY]: 'ready',
  [TaskState.TASK_STATE_STARTING]: 'starting',
  [TaskState.TASK_STATE_RUNNING]: 'running',
  [TaskState.TASK_STATE_COMPLETE]: 'complete',
  [TaskState.TASK_STATE_SHUTDOWN]: 'shutdown',
  [TaskState.TASK_STATE_FAILED]: 'failed',
  [TaskState.TASK_STATE_REJECTED]: 'rejected',
  [TaskState.TASK_STATE_ORPHANED]: 'orphaned',
  [TaskState.TASK_STATE_REMOVE]: 'remove',
};

export function taskStateWord(state: TaskState | undefined): string {
  return TASK_STATE[state ?? TaskState.TASK_STATE_NEW] ?? 'new';
}

/** Docker's `desired-state` filter words (`running`, `shutdown`, `accepted`), as tswarm's desired states. */
export function desiredStateFromDocker(value: string): TaskState {
  const found = Object.entries(TASK_STATE).find(([, w]) => w === value);
  if (!found || !['running', 'shutdown', 'accepted', 'remove'].includes(value))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `Invalid desired-state filter value ${value}. Use running, shutdown or accepted`,
    );
  return Number(found[0]);
}

export function dockerTask(task: Task): Record<string, unknown> {
  const s = task.status;
  const cs = s?.containerStatus;
  return {
    ID: task.id,
    Version: { Index: task.meta?.version ?? 0 },
    CreatedAt: isoTime(task.meta?.createdAtMs),
    UpdatedAt: isoTime(task.meta?.updatedAtMs),
    // moby's CLI names the task itself (SERVICE.SLOT); the field is the task's own annotation.
    ...(task.annotations?.name ? { Name: task.annotations.name } : {}),
    Labels: task.annotations?.labels ?? {},
    Spec: dockerTaskSpec(task.spec),
    ServiceID: task.serviceId,
    // A job's first slot is 0 in Docker's numbering, so Slot is shown whenever it is a job's.
    ...(task.slot ? { Slot: dockerSlot(task) } : {}),
    ...(task.nodeId ? { NodeID: task.nodeId } : {}),
    ...(task.jobIteration !== undefined ? { JobIteration: { Index: task.jobIteration } } : {}),
    Status: {
      Timestamp: isoTime(s?.timestampMs),
      State: taskStateWord(s?.state),
      Message: s?.message ?? '',
      ...(s?.err ? { Err: s.err } : {}),
      ...(cs?.containerId
        ? { ContainerStatus: { ContainerID: cs.containerId, PID: cs.pid, ExitCode: cs.exitCode } }
        : {}),
      PortStatus: {},
    },
    DesiredState: taskStateWord(task.desiredState),
  };
}
