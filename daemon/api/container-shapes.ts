import { hostname } from 'node:os';
import type { ContainerInspectResponse, ContainerSummary, PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { networkId } from './networks.js';
import { MountType, PortProtocol, type Mount } from '../../gen/tswarm/v1/objects.js';
import type { BridgeAddress } from '../../engine/network-contract.js';
import { isoTime } from './swarm-shapes.js';
import { userLabels } from '../../engine/facade/labels.js';

/** tswarm's containers in the shapes of Docker's ContainerSummary and ContainerInspect. */

export const LABEL_IMAGE_ID = 'tswarm.engine.image-id';
/** Go's zero time, which Docker prints for a time that never was. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function protocolName(p: PortProtocol): string {
  return p === PortProtocol.PORT_PROTOCOL_UDP ? 'udp' : p === PortProtocol.PORT_PROTOCOL_SCTP ? 'sctp' : 'tcp';
}

/** "3 seconds", "About a minute", "2 hours": Go's units.HumanDuration, as `docker ps` prints. */
export function humanDuration(ms: number): string {
  // Seconds and minutes are truncated, hours rounded, as Go's units.HumanDuration does.
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const min = Math.floor(s / 60);
  if (min === 1) return 'About a minute';
  if (min < 60) return `${min} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** `docker ps`'s STATUS column: "Up 3 seconds (healthy)", "Exited (0) 2 seconds ago", "Created". */
export function statusText(c: ContainerSummary, nowMs = Date.now()): string {
  const s = c.state;
  if (!s) return '';
  if (s.status === 'running') {
    const health = s.health ? ` (${s.health === 'starting' ? 'health: starting' : s.health})` : '';
    return `Up ${humanDuration(nowMs - s.startedAtMs)}${health}`;
  }
  if (s.status === 'exited') {
    if (s.finishedAtMs === 0) return `Exited (${s.exitCode})`;
    return `Exited (${s.exitCode}) ${humanDuration(nowMs - s.finishedAtMs)} ago`;
  }
  return s.status === 'created' ? 'Created' : s.status;
}

function isRunning(c: ContainerSummary): boolean {
  return c.state?.status === 'running';
}

/** A container holds its published ports only while it runs (they are bound at start). */
function summaryPorts(c: ContainerSummary): unknown[] {
  if (!isRunning(c)) return [];
  return c.ports.map((p) => ({
    IP: p.hostIp || '0.0.0.0',
    PrivatePort: p.containerPort,
    PublicPort: p.hostPort,
    Type: protocolName(p.protocol),
  }));
}

/** `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`. */
export function portMap(ports: readonly PublishedPort[], withHost: boolean): Record<string, unknown> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${protocolName(p.protocol)}`;
    if (!withHost) {
      out[key] ??= null;
      continue;
    }
    (out[key] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

function dockerMount(m: Mount): Record<string, unknown> {
  const type =
    m.type === MountType.MOUNT_TYPE_BIND ? 'bind' : m.type === MountType.MOUNT_TYPE_TMPFS ? 'tmpfs' : 'volume';
  return {
    Type: type,
    ...(type === 'volume' ? { Name: m.source, Driver: 'local' } : {}),
    Source: type === 'tmpfs' ? '' : m.source,
    Destination: m.target,
    Mode: m.readOnly ? 'ro' : '',
    RW: !m.readOnly,
    Propagation: type === 'bind' ? 'rprivate' : '',
  };
}

function networkModeOf(mode: string): string {
  return mode === '' ? 'bridge' : mode;
}

/** One network's endpoint, as NetworkSettings.Networks holds it. */
function endpoint(id: string, address: BridgeAddress | undefined): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: address?.mac ?? '',
    NetworkID: networkId('bridge'),
    EndpointID: address ? id : '',
    Gateway: address?.gateway ?? '',
    IPAddress: address?.ip ?? '',
    IPPrefixLen: address?.prefixLength ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: null,
  };
}

function networks(id: string, mode: string, address: BridgeAddress | undefined): Record<string, unknown> {
  const name = networkModeOf(mode);
  return { [name]: endpoint(id, name === 'bridge' ? address : undefined) };
}

/** `GET /containers/json`: Docker's ContainerSummary. */
export function dockerContainerSummary(
  c: ContainerSummary,
  extra: { networkMode: string; mounts: readonly Mount[]; address: BridgeAddress | undefined },
  nowMs = Date.now(),
): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.labels[LABEL_IMAGE_ID] ?? '',
    Command: c.command.map((w) => (/\s/.test(w) ? JSON.stringify(w) : w)).join(' '),
    Created: Math.floor(c.createdAtMs / 1000),
    Ports: summaryPorts(c),
    Labels: userLabels(c.labels),
    State: c.state?.status ?? '',
    Status: statusText(c, nowMs),
    HostConfig: { NetworkMode: networkModeOf(extra.networkMode) },
    NetworkSettings: { Networks: networks(c.id, extra.networkMode, extra.address) },
    Mounts: extra.mounts.map(dockerMount),
  };
}

/** What the image gives a container that the spec leaves out (Docker's inspect shows the merge). */
export interface ImageDefaults {
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: Record<string, unknown>;
}

function dockerState(c: ContainerSummary): Record<string, unknown> {
  const s = c.state;
  const status = s?.status ?? 'created';
  return {
    Status: status,
    Running: status === 'running',
    Paused: false,
    Restarting: false,
    OOMKilled: s?.oomKilled ?? false,
    Dead: false,
    Pid: status === 'running' ? (s?.pid ?? 0) : 0,
    ExitCode: s?.exitCode ?? 0,
    Error: s?.error ?? '',
    StartedAt: s?.startedAtMs ? isoTime(s.startedAtMs) : ZERO_TIME,
    FinishedAt: s?.finishedAtMs ? isoTime(s.finishedAtMs) : ZERO_TIME,
    ...(s?.health ? { Health: { Status: s.health, FailingStreak: 0, Log: [] } } : {}),
  };
}

/** The image's environment with the container's on top (a key given again replaces it). */
export function mergeEnv(fromImage: readonly string[], given: readonly string[]): string[] {
  const key = (e: string) => e.split('=', 1)[0];
  const overridden = new Set(given.map(key));
  return [...fromImage.filter((e) => !overridden.has(key(e))), ...given];
}

/** `GET /containers/{id}/json`: Docker's ContainerInspect. */
export function dockerContainerInspect(
  r: ContainerInspectResponse,
  address: BridgeAddress | undefined,
  image: ImageDefaults | undefined,
): Record<string, unknown> {
  const c = r.container!;
  const cfg = r.config!;
  const spec = cfg.spec!;
  const limits = cfg.resources?.limits;
  const running = c.state?.status === 'running';
  const mode = networkModeOf(cfg.networkMode);
  const [path = '', ...args] = c.command;
  const bridge = mode === 'bridge' ? address : undefined;
  return {
    Id: c.id,
    Created: isoTime(c.createdAtMs),
    Path: path,
    Args: args,
    State: dockerState(c),
    Image: c.labels[LABEL_IMAGE_ID] ?? '',
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: r.logPath,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: null,
      NetworkMode: mode,
      PortBindings: portMap(cfg.ports, true),
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: cfg.autoRemove,
      Memory: Number(limits?.memoryBytes ?? 0),
      NanoCpus: Number(limits?.nanoCpus ?? 0),
      CpuShares: 0,
      PidsLimit: Number(limits?.pids ?? 0) || null,
      Init: spec.init,
      ReadonlyRootfs: spec.readOnly,
      CapAdd: spec.capabilityAdd.length ? spec.capabilityAdd : null,
      CapDrop: spec.capabilityDrop.length ? spec.capabilityDrop : null,
      Dns: spec.dnsNameservers,
      DnsOptions: spec.dnsOptions,
      DnsSearch: spec.dnsSearch,
      ExtraHosts: spec.hosts.length ? spec.hosts : null,
      SecurityOpt: spec.noNewPrivileges ? ['no-new-privileges'] : null,
      // The log is a file the engine keeps and `logs` reads, as with Docker's json-file driver:
      // clients (the Python SDK's run) read the output back only from a driver they know readable.
      LogConfig: { Type: 'json-file', Config: {} },
      Privileged: false,
      PublishAllPorts: false,
    },
    GraphDriver: { Name: 'overlay', Data: { MergedDir: r.rootfs } },
    Mounts: spec.mounts.map(dockerMount),
    Config: {
      // As the runtime names it (engine/runtime/create.ts).
      Hostname: spec.hostname || (mode === 'host' ? hostname() : c.id.slice(0, 12)),
      Domainname: '',
      User: spec.user || image?.user || '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: { ...image?.exposedPorts, ...portMap(cfg.ports, false) },
      Tty: spec.tty,
      OpenStdin: spec.openStdin,
      StdinOnce: spec.stdinOnce,
      Env: mergeEnv(image?.env ?? [], spec.env),
      Cmd: spec.args.length ? spec.args : spec.command.length ? [] : (image?.cmd ?? null),
      Image: c.image,
      Volumes: null,
      WorkingDir: spec.dir || image?.workingDir || '',
      Entrypoint: spec.command.length ? spec.command : (image?.entrypoint ?? null),
      OnBuild: null,
      Labels: userLabels(c.labels),
      ...(spec.healthcheck
        ? {
            Healthcheck: {
              Test: spec.healthcheck.test,
              Interval: spec.healthcheck.intervalMs * 1e6,
              Timeout: spec.healthcheck.timeoutMs * 1e6,
              Retries: spec.healthcheck.retries,
              StartPeriod: spec.healthcheck.startPeriodMs * 1e6,
            },
          }
        : {}),
      ...(spec.stopSignal ? { StopSignal: spec.stopSignal } : {}),
      ...(spec.stopGracePeriodMs !== undefined ? { StopTimeout: Math.round(spec.stopGracePeriodMs / 1000) } : {}),
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      SandboxKey: '',
      Ports: running ? portMap(cfg.ports, true) : {},
      Gateway: bridge?.gateway ?? '',
      IPAddress: bridge?.ip ?? '',
      IPPrefixLen: bridge?.prefixLength ?? 0,
      MacAddress: bridge?.mac ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPv6Gateway: '',
      Networks: networks(c.id, cfg.networkMode, bridge),
    },
  };
}

/** The image config's defaults for inspect, from the config JSON the registry served. */
export function imageDefaults(configJson: Buffer): ImageDefaults | undefined {
  try {
    const doc = JSON.parse(configJson.toString('utf8')) as {
      config?: {
        Entrypoint?: string[] | null;
        Cmd?: string[] | null;
        Env?: string[] | null;
        WorkingDir?: string;
        User?: string;
        ExposedPorts?: Record<string, unknown> | null;
      };
    };
    const c = doc.config ?? {};
    return {
      entrypoint: c.Entrypoint ?? null,
      cmd: c.Cmd ?? null,
      env: c.Env ?? [],
      workingDir: c.WorkingDir ?? '',
      user: c.User ?? '',
      exposedPorts: c.ExposedPorts ?? {},
    };
  } catch {
    return undefined;
  }
}
