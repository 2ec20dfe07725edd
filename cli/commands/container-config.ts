import { Option, type Command } from 'commander';
import {
  collect,
  parseDurationMs,
  parseEnv,
  parseLabel,
  parseNanoCpus,
  parseNonNegativeInt,
  parsePort,
  parseSecurityOpt,
  parseSizeBytes,
  parseTmpfs,
  parseVolume,
  type PortFlag,
  type VolumeFlag,
} from './engine-flags.js';
import { TswarmError } from '../../lib/errors.js';
import type { DockerHealthConfig } from '../../lib/api-client/swarm-types.js';

/** The flags `container create` and `container run` share, parsed (see addContainerOptions). */
export interface ContainerFlags {
  name?: string;
  rm?: boolean;
  env?: (string | undefined)[];
  label?: [string, string][];
  workdir?: string;
  user?: string;
  hostname?: string;
  init?: boolean;
  readOnly?: boolean;
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  volume?: VolumeFlag[];
  tmpfs?: [string, string][];
  publish?: PortFlag[];
  network?: string;
  capAdd?: string[];
  capDrop?: string[];
  entrypoint?: string;
  healthCmd?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthRetries?: number;
  healthStartPeriod?: number;
  noHealthcheck?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  securityOpt?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
}

const NETWORK_MODES = ['bridge', 'host', 'none'];

/** Docker's --health-* flags and --no-healthcheck (commander gives `healthcheck: false` for the latter). */
export function addHealthOptions(cmd: Command): Command {
  return cmd
    .option('--health-cmd <cmd>', 'command (run with /bin/sh -c) that checks the container’s health')
    .option('--health-interval <duration>', 'time between health checks, e.g. 30s', parseDurationMs)
    .option('--health-timeout <duration>', 'how long a check may take', parseDurationMs)
    .option('--health-retries <n>', 'failures in a row that make it unhealthy', parseNonNegativeInt('--health-retries'))
    .option('--health-start-period <duration>', 'grace time after start when failures do not count', parseDurationMs)
    .option('--no-healthcheck', 'disable the image’s health check');
}

export function addContainerOptions(cmd: Command): Command {
  return addHealthOptions(cmd)
    .option('--name <name>', 'the container’s name')
    .option('--rm', 'remove the container when it exits')
    .option(
      '-e, --env <key=value>',
      'set an environment variable; KEY alone copies it from this shell (repeatable)',
      collect((v) => parseEnv(v)),
    )
    .option('-l, --label <key=value>', 'a label (repeatable)', collect(parseLabel))
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user (name or UID) to run as')
    .option('--hostname <name>', 'the container’s host name')
    .option(
      '--dns <ip>',
      'a nameserver for the container’s resolv.conf, instead of the host’s (repeatable)',
      collect(String),
    )
    .option('--dns-search <domain>', 'a search domain for the container’s resolv.conf (repeatable)', collect(String))
    .option('--dns-option <option>', 'a resolv.conf option, e.g. ndots:2 (repeatable)', collect(String))
    .option('--init', 'run an init process (catatonit) as PID 1 that reaps zombies and forwards signals')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-m, --memory <size>', 'memory limit, e.g. 64m or 1g', parseSizeBytes)
    .option('--cpus <n>', 'CPU limit, e.g. 0.5', parseNanoCpus)
    .option('--pids-limit <n>', 'the most processes the container may have (0 or -1: no limit)', (v: string) =>
      v.trim() === '-1' ? 0 : parseNonNegativeInt('--pids-limit')(v),
    )
    .option(
      '-v, --volume <src:dst[:ro]>',
      'bind mount (/host/path:/path) or volume (name:/path) (repeatable)',
      collect(parseVolume),
    )
    .option('--tmpfs <dst[:options]>', 'a tmpfs mount, e.g. /run:size=64m (repeatable)', collect(parseTmpfs))
    .option(
      '-p, --publish <[ip:][host:]container[/proto]>',
      'publish a container port on the node (repeatable)',
      collect(parsePort),
    )
    .addOption(new Option('--network <mode>', 'network: bridge (default), host or none').choices(NETWORK_MODES))
    .option('--cap-add <cap>', 'add a Linux capability (repeatable)', collect(String))
    .option('--cap-drop <cap>', 'drop a Linux capability (repeatable)', collect(String))
    .option(
      '--security-opt <opt>',
      'no-new-privileges: processes cannot gain privileges (setuid, file caps) (repeatable)',
      collect(parseSecurityOpt),
    )
    .option('--entrypoint <cmd>', 'replace the image’s entrypoint')
    .option('--stop-signal <signal>', 'signal that stops the container (default SIGTERM or the image’s)')
    .option(
      '--stop-timeout <seconds>',
      'seconds to wait after the stop signal before killing',
      parseNonNegativeInt('--stop-timeout'),
    );
}

type HealthcheckBody = DockerHealthConfig;

/** The health flags `run`, `create` and `service create` share (Docker's --health-* and --no-healthcheck). */
export type HealthFlags = Pick<
  ContainerFlags,
  'healthCmd' | 'healthInterval' | 'healthTimeout' | 'healthRetries' | 'healthStartPeriod' | 'noHealthcheck'
>;

const NS_PER_MS = 1_000_000;

/** Docker's HealthConfig from the health flags: left out when none is given (the image's check stays). */
export function healthcheck(f: HealthFlags): HealthcheckBody | undefined {
  // Commander turns --no-healthcheck into healthcheck: false; ContainerFlags names it noHealthcheck.
  const tuned =
    f.healthInterval !== undefined ||
    f.healthTimeout !== undefined ||
    f.healthRetries !== undefined ||
    f.healthStartPeriod !== undefined;
  if (f.noHealthcheck) {
    // As Docker: turning the check off and configuring it at once is a mistake, not a choice.
    if (f.healthCmd !== undefined || tuned)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        '--no-healthcheck conflicts with --health-* options. Give one or the other',
      );
    return { Test: ['NONE'] };
  }
  if (!f.healthCmd && !tuned) return undefined;
  return {
    // Without --health-cmd the image's test stays and only the timings change.
    ...(f.healthCmd ? { Test: ['CMD-SHELL', f.healthCmd] } : {}),
    Interval: (f.healthInterval ?? 0) * NS_PER_MS,
    Timeout: (f.healthTimeout ?? 0) * NS_PER_MS,
    Retries: f.healthRetries ?? 0,
    StartPeriod: (f.healthStartPeriod ?? 0) * NS_PER_MS,
  };
}

/**
 * `--entrypoint E` replaces the image's entrypoint, the words after IMAGE its cmd. `--entrypoint ""`
 * (Entrypoint `[""]`) clears the entrypoint, Docker's way to run another command in an image that
 * has one: the words after IMAGE are then the whole command, and there must be some.
 */
function entrypoint(value: string | undefined, command: readonly string[]): string[] | undefined {
  if (value === '' && command.length === 0)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      '--entrypoint "" clears the image\'s entrypoint and cmd, so a command is needed. Give one after the image',
    );
  return value === undefined ? undefined : [value];
}

/** Docker's ContainerCreateRequest (Config with HostConfig inside), as `docker run` builds it from its flags. */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Healthcheck?: HealthcheckBody;
  StopSignal?: string;
  StopTimeout?: number;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  HostConfig: {
    Binds?: string[];
    Tmpfs?: Record<string, string>;
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    Memory?: number;
    NanoCpus?: number;
    PidsLimit?: number;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    AutoRemove: boolean;
    NetworkMode: string;
    ReadonlyRootfs: boolean;
    Init?: boolean;
    SecurityOpt?: string[];
    CapAdd?: string[];
    CapDrop?: string[];
    Dns?: string[];
    DnsSearch?: string[];
    DnsOptions?: string[];
  };
}

/** A list flag as the body carries it: left out when not given (JSON drops undefined). */
const nonEmpty = <T>(list: readonly T[] | undefined): T[] | undefined =>
  list && list.length > 0 ? [...list] : undefined;

function portBindings(ports: readonly PortFlag[]): ContainerCreateBody['HostConfig']['PortBindings'] {
  if (ports.length === 0) return undefined;
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (bindings[p.port] ??= []).push(p.binding);
  return bindings;
}

/** Keys of a Docker set (`{"80/tcp": {}}`), left out when empty. */
function set(keys: readonly string[]): Record<string, object> | undefined {
  return keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, {}])) : undefined;
}

/**
 * The create body Docker's flags describe, as `docker run` sends it to POST /containers/create
 * (the name goes in the query). Unset flags are left out: the daemon then applies the image's
 * defaults or its own.
 */
export function buildCreateBody(image: string, command: readonly string[], f: ContainerFlags): ContainerCreateBody {
  const volumes = f.volume ?? [];
  const ports = f.publish ?? [];
  return {
    Image: image,
    Cmd: nonEmpty(command),
    Entrypoint: entrypoint(f.entrypoint, command),
    Env: nonEmpty((f.env ?? []).filter((e): e is string => e !== undefined)),
    Labels: f.label ? Object.fromEntries(f.label) : undefined,
    WorkingDir: f.workdir,
    User: f.user,
    Hostname: f.hostname,
    // As `docker run`: a published port is an exposed one too.
    ExposedPorts: set(ports.map((p) => p.port)),
    Volumes: set(volumes.flatMap((v) => ('anonymous' in v ? [v.anonymous] : []))),
    Healthcheck: healthcheck(f),
    StopSignal: f.stopSignal,
    StopTimeout: f.stopTimeout,
    HostConfig: {
      Binds: nonEmpty(volumes.flatMap((v) => ('bind' in v ? [v.bind] : []))),
      Tmpfs: f.tmpfs ? Object.fromEntries(f.tmpfs) : undefined,
      PortBindings: portBindings(ports),
      Memory: f.memory,
      NanoCpus: f.cpus,
      PidsLimit: f.pidsLimit,
      // tswarm's plain containers are never restarted (a service's tasks are); Docker's default said so.
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: f.rm ?? false,
      NetworkMode: f.network ?? 'default',
      ReadonlyRootfs: f.readOnly ?? false,
      Init: f.init,
      SecurityOpt: nonEmpty(f.securityOpt),
      CapAdd: nonEmpty(f.capAdd),
      CapDrop: nonEmpty(f.capDrop),
      Dns: nonEmpty(f.dns),
      DnsSearch: nonEmpty(f.dnsSearch),
      DnsOptions: nonEmpty(f.dnsOption),
    },
  };
}

/** Commander gives `--no-healthcheck` as `healthcheck: false`; this maps it onto ContainerFlags. */
export function containerFlags(opts: ContainerFlags & { healthcheck?: boolean }): ContainerFlags {
  return { ...opts, noHealthcheck: opts.healthcheck === false };
}
