import { TswarmError } from '../../lib/errors.js';
import { ContainerConfig, type PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { ContainerSpec, MountType, PortProtocol, type HealthConfig, type Mount } from '../../gen/tswarm/v1/objects.js';
import { tmpfsSpec, volumeSpec } from '../../lib/mount-specs.js';
import { validateContainerConfig } from '../../engine/facade/validate.js';
import { field, member, refuseIfSet, stringArray, stringMap, type JsonObject } from './body.js';

/**
 * Docker's ContainerCreateRequest (Config, HostConfig, NetworkingConfig in one object) as
 * tswarm's ContainerConfig. Fields tswarm cannot honour yet are refused when set, never ignored
 * silently; fields left at their zero value (the docker CLI sends many) are fine.
 */

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

/** Docker's StrSlice: a string (one word) or an array of strings. */
function strSlice(obj: JsonObject | undefined, name: string, path = name): string[] | undefined {
  const v = member(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw invalid(`${path} must be a string or an array of strings, not ${typeof v}`);
  return stringArray(obj, name, path);
}

const PROTOCOLS: Record<string, PortProtocol> = {
  tcp: PortProtocol.PORT_PROTOCOL_TCP,
  udp: PortProtocol.PORT_PROTOCOL_UDP,
  sctp: PortProtocol.PORT_PROTOCOL_SCTP,
};

function portNumber(text: string, what: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw invalid(`${what} "${text}" is not a port number. Give one such as 8080`);
  const n = Number(text);
  if (n > 65535 || (!allowZero && n === 0)) throw invalid(`${what} ${n} is out of range. Use 1-65535`);
  return n;
}

/** `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`: one published port per binding. */
export function portBindings(host: JsonObject | undefined): PublishedPort[] {
  const bindings = field(host, 'PortBindings', 'object', 'HostConfig.PortBindings');
  if (!bindings) return [];
  const ports: PublishedPort[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const path = `HostConfig.PortBindings["${key}"]`;
    const [portText = '', proto = 'tcp'] = key.split('/');
    const protocol = PROTOCOLS[proto];
    if (protocol === undefined) throw invalid(`${path}: protocol "${proto}" is not tcp, udp or sctp`);
    const containerPort = portNumber(portText, `${path}: container port`, false);
    if (list === null) continue;
    if (!Array.isArray(list)) throw invalid(`${path} must be an array, not ${typeof list}`);
    for (const [i, b] of list.entries()) {
      if (b === null || typeof b !== 'object' || Array.isArray(b)) throw invalid(`${path}[${i}] must be an object`);
      const hostIp = field(b as JsonObject, 'HostIp', 'string', `${path}[${i}].HostIp`) ?? '';
      const hostPortText = field(b as JsonObject, 'HostPort', 'string', `${path}[${i}].HostPort`) ?? '';
      const hostPort = hostPortText === '' ? 0 : portNumber(hostPortText, `${path}[${i}].HostPort`, true);
      ports.push({ containerPort, hostPort, protocol, hostIp: hostIp === '0.0.0.0' ? '' : hostIp });
    }
  }
  return ports;
}

const MOUNT_TYPES: Record<string, MountType> = {
  bind: MountType.MOUNT_TYPE_BIND,
  volume: MountType.MOUNT_TYPE_VOLUME,
  tmpfs: MountType.MOUNT_TYPE_TMPFS,
};

/** HostConfig.Mounts (`--mount`): bind, volume and tmpfs. */
function apiMounts(host: JsonObject | undefined): Mount[] {
  const list = field(host, 'Mounts', 'array', 'HostConfig.Mounts') ?? [];
  return list.map((m, i) => {
    const path = `HostConfig.Mounts[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`${path} must be an object`);
    const o = m as JsonObject;
    const typeName = field(o, 'Type', 'string', `${path}.Type`) ?? '';
    const type = MOUNT_TYPES[typeName];
    if (type === undefined) throw invalid(`${path}.Type "${typeName}" is not supported. Use bind, volume or tmpfs`);
    const tmpfs = field(o, 'TmpfsOptions', 'object', `${path}.TmpfsOptions`);
    const volume = field(o, 'VolumeOptions', 'object', `${path}.VolumeOptions`);
    return {
      type,
      source: field(o, 'Source', 'string', `${path}.Source`) ?? '',
      target: field(o, 'Target', 'string', `${path}.Target`) ?? '',
      readOnly: field(o, 'ReadOnly', 'boolean', `${path}.ReadOnly`) ?? false,
      tmpfsSizeBytes: field(tmpfs, 'SizeBytes', 'number', `${path}.TmpfsOptions.SizeBytes`) ?? 0,
      tmpfsMode: field(tmpfs, 'Mode', 'number', `${path}.TmpfsOptions.Mode`) ?? 0,
      volumeLabels: stringMap(volume, 'Labels', `${path}.VolumeOptions.Labels`) ?? {},
      volumeNoCopy: field(volume, 'NoCopy', 'boolean', `${path}.VolumeOptions.NoCopy`) ?? false,
    };
  });
}

/** HostConfig.Tmpfs: `{"/run": "size=64m"}`. */
function tmpfsMounts(host: JsonObject | undefined): Mount[] {
  const m = stringMap(host, 'Tmpfs', 'HostConfig.Tmpfs') ?? {};
  return Object.entries(m).map(([target, opts]) => {
    const spec = tmpfsSpec(opts === '' ? target : `${target}:${opts}`, 'HostConfig.Tmpfs');
    return {
      type: MountType.MOUNT_TYPE_TMPFS,
      source: '',
      target: spec.target,
      readOnly: false,
      tmpfsSizeBytes: spec.sizeBytes,
      tmpfsMode: spec.mode,
      volumeLabels: {},
      volumeNoCopy: false,
    };
  });
}

/** A HostConfig.Binds entry (`SRC:DST[:ro]`) or a Config.Volumes path (an anonymous volume). */
function volumeMount(value: string): Mount {
  const spec = volumeSpec(value);
  return {
    type: spec.type === 'bind' ? MountType.MOUNT_TYPE_BIND : MountType.MOUNT_TYPE_VOLUME,
    source: spec.source,
    target: spec.target,
    readOnly: spec.readOnly,
    tmpfsSizeBytes: 0,
    tmpfsMode: 0,
    volumeLabels: {},
    volumeNoCopy: false,
  };
}

const nsToMs = (ns: number | undefined) => Math.round((ns ?? 0) / 1e6);

function healthcheck(config: JsonObject): HealthConfig | undefined {
  const h = field(config, 'Healthcheck', 'object');
  if (!h) return undefined;
  return {
    test: stringArray(h, 'Test', 'Healthcheck.Test') ?? [],
    intervalMs: nsToMs(field(h, 'Interval', 'number', 'Healthcheck.Interval')),
    timeoutMs: nsToMs(field(h, 'Timeout', 'number', 'Healthcheck.Timeout')),
    retries: field(h, 'Retries', 'number', 'Healthcheck.Retries') ?? 0,
    startPeriodMs: nsToMs(field(h, 'StartPeriod', 'number', 'Healthcheck.StartPeriod')),
  };
}

/**
 * Entrypoint replaces the image's entrypoint, Cmd its cmd. `Entrypoint: [""]` (the CLI's
 * `--entrypoint ""`) clears the entrypoint: Cmd is then the whole command.
 */
function argv(config: JsonObject): { command: string[]; args: string[] } {
  const entrypoint = strSlice(config, 'Entrypoint');
  const cmd = strSlice(config, 'Cmd') ?? [];
  if (entrypoint === undefined || entrypoint.length === 0) return { command: [], args: cmd };
  if (entrypoint.length === 1 && entrypoint[0] === '') {
    if (cmd.length === 0) throw invalid('Entrypoint [""] clears the image\'s entrypoint, so Cmd is needed. Give one');
    return { command: cmd, args: [] };
  }
  return { command: entrypoint, args: cmd };
}

function securityOpts(host: JsonObject | undefined): boolean {
  let noNewPrivileges = false;
  for (const opt of stringArray(host, 'SecurityOpt', 'HostConfig.SecurityOpt') ?? []) {
    const m = /^no-new-privileges(?:[:=](true|false))?$/.exec(opt.trim());
    if (!m) throw invalid(`HostConfig.SecurityOpt "${opt}" is not supported. Only no-new-privileges[:true|false] is`);
    noNewPrivileges = m[1] !== 'false';
  }
  return noNewPrivileges;
}

function networkMode(host: JsonObject | undefined): string {
  const mode = field(host, 'NetworkMode', 'string', 'HostConfig.NetworkMode') ?? '';
  if (mode === '' || mode === 'default') return '';
  if (mode === 'bridge' || mode === 'host' || mode === 'none') return mode;
  throw invalid(`HostConfig.NetworkMode "${mode}" is not supported. Use bridge, host or none`);
}

function restartPolicy(host: JsonObject | undefined): void {
  const policy = field(host, 'RestartPolicy', 'object', 'HostConfig.RestartPolicy');
  const name = field(policy, 'Name', 'string', 'HostConfig.RestartPolicy.Name') ?? '';
  if (name !== '' && name !== 'no')
    throw invalid(
      `HostConfig.RestartPolicy "${name}" is not supported for plain containers. Use "no", or a service (which restarts its tasks)`,
    );
}

function refuseUnsupported(config: JsonObject, host: JsonObject | undefined): void {
  refuseIfSet(host, 'Privileged', 'HostConfig.Privileged', 'privileged containers are not supported');
  refuseIfSet(host, 'PublishAllPorts', 'HostConfig.PublishAllPorts', 'publish each port with -p');
  refuseIfSet(host, 'VolumesFrom', 'HostConfig.VolumesFrom', 'use named volumes');
  refuseIfSet(host, 'Links', 'HostConfig.Links', 'legacy links are not supported');
  refuseIfSet(host, 'Devices', 'HostConfig.Devices', 'devices are not supported yet');
  refuseIfSet(host, 'PidMode', 'HostConfig.PidMode', 'containers have their own PID namespace');
  refuseIfSet(host, 'IpcMode', 'HostConfig.IpcMode', 'containers have their own IPC namespace');
  // Limits and modes the engine does not apply yet: a container made without them would run
  // without the limit its owner asked for. (The docker CLI leaves each zero unless its flag is given.)
  const limitsLater = 'the engine applies Memory, NanoCpus (--cpus) and PidsLimit only';
  for (const key of [
    'CpuQuota',
    'CpuPeriod',
    'CpuRealtimePeriod',
    'CpuRealtimeRuntime',
    'CpusetCpus',
    'CpusetMems',
    'MemorySwap',
    'MemoryReservation',
    'BlkioWeight',
    'Ulimits',
    'ShmSize',
    'OomKillDisable',
  ])
    refuseIfSet(host, key, `HostConfig.${key}`, limitsLater);
  refuseIfSet(host, 'UTSMode', 'HostConfig.UTSMode', 'containers have their own UTS namespace');
  refuseIfSet(host, 'UsernsMode', 'HostConfig.UsernsMode', 'user namespaces are not supported yet');
  refuseIfSet(
    host,
    'CgroupParent',
    'HostConfig.CgroupParent',
    'the engine places every container under its own cgroup parent',
  );
  restartPolicy(host);
}

export interface CreateRequest {
  config: ContainerConfig;
  warnings: string[];
}

/** The whole request body as a validated ContainerConfig (INVALID_ARGUMENT naming the field otherwise). */
export function containerConfigFromDocker(body: JsonObject, name: string): CreateRequest {
  const host = field(body, 'HostConfig', 'object');
  refuseUnsupported(body, host);
  const image = field(body, 'Image', 'string') ?? '';
  if (image === '') throw invalid('Image is empty. Give the image to create the container from');
  const warnings: string[] = [];
  if ((field(host, 'CpuShares', 'number', 'HostConfig.CpuShares') ?? 0) !== 0)
    warnings.push('CPU shares are not supported by tswarm; use NanoCpus (--cpus) instead. Ignored');
  const pids = field(host, 'PidsLimit', 'number', 'HostConfig.PidsLimit') ?? 0;
  const stopTimeout = field(body, 'StopTimeout', 'number');
  const binds = (stringArray(host, 'Binds', 'HostConfig.Binds') ?? []).map(volumeMount);
  // `docker run -v /data` sends the path in Config.Volumes: an anonymous volume, as the CLI's `-v /path`.
  const anonymous = Object.keys(field(body, 'Volumes', 'object') ?? {})
    .filter((target) => !binds.some((m) => m.target === target))
    .map(volumeMount);
  const spec = ContainerSpec.fromPartial({
    image,
    labels: stringMap(body, 'Labels') ?? {},
    ...argv(body),
    hostname: field(body, 'Hostname', 'string') ?? '',
    env: stringArray(body, 'Env') ?? [],
    dir: field(body, 'WorkingDir', 'string') ?? '',
    user: field(body, 'User', 'string') ?? '',
    groups: stringArray(host, 'GroupAdd', 'HostConfig.GroupAdd') ?? [],
    init: field(host, 'Init', 'boolean', 'HostConfig.Init') ?? false,
    tty: field(body, 'Tty', 'boolean') ?? false,
    openStdin: field(body, 'OpenStdin', 'boolean') ?? false,
    stdinOnce: field(body, 'StdinOnce', 'boolean') ?? false,
    readOnly: field(host, 'ReadonlyRootfs', 'boolean', 'HostConfig.ReadonlyRootfs') ?? false,
    mounts: [...binds, ...anonymous, ...apiMounts(host), ...tmpfsMounts(host)],
    stopSignal: field(body, 'StopSignal', 'string') ?? '',
    ...(stopTimeout !== undefined ? { stopGracePeriodMs: stopTimeout * 1000 } : {}),
    healthcheck: healthcheck(body),
    hosts: stringArray(host, 'ExtraHosts', 'HostConfig.ExtraHosts') ?? [],
    dnsNameservers: stringArray(host, 'Dns', 'HostConfig.Dns') ?? [],
    dnsSearch: stringArray(host, 'DnsSearch', 'HostConfig.DnsSearch') ?? [],
    dnsOptions: stringArray(host, 'DnsOptions', 'HostConfig.DnsOptions') ?? [],
    capabilityAdd: stringArray(host, 'CapAdd', 'HostConfig.CapAdd') ?? [],
    capabilityDrop: stringArray(host, 'CapDrop', 'HostConfig.CapDrop') ?? [],
    noNewPrivileges: securityOpts(host),
    sysctls: stringMap(host, 'Sysctls', 'HostConfig.Sysctls') ?? {},
  });
  const config = ContainerConfig.fromPartial({
    name: name.replace(/^\//, ''),
    spec,
    resources: {
      limits: {
        nanoCpus: field(host, 'NanoCpus', 'number', 'HostConfig.NanoCpus') ?? 0,
        memoryBytes: field(host, 'Memory', 'number', 'HostConfig.Memory') ?? 0,
        // Docker's -1 (and 0) is no limit.
        pids: pids < 0 ? 0 : pids,
      },
    },
    networkMode: networkMode(host),
    ports: portBindings(host),
    autoRemove: field(host, 'AutoRemove', 'boolean', 'HostConfig.AutoRemove') ?? false,
  });
  validateContainerConfig(config);
  return { config, warnings };
}
