import { Option, type Command } from 'commander';
import type { ContainerConfig, PublishedPort } from '../../gen/lite/tswarm/v1/engine.js';
import { ContainerSpec, type HealthConfig, type Mount } from '../../gen/lite/tswarm/v1/objects.js';
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
} from './engine-flags.js';
import { TswarmError } from '../../lib/errors.js';

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
  volume?: Mount[];
  tmpfs?: Mount[];
  publish?: PublishedPort[];
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
  securityOpt?: { noNewPrivileges: boolean }[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
}

const NETWORK_MODES = ['bridge', 'host', 'none'];

export function addContainerOptions(cmd: Command): Command {
  return cmd
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
    .option('--health-cmd <cmd>', 'command (run with /bin/sh -c) that checks the container’s health')
    .option('--health-interval <duration>', 'time between health checks, e.g. 30s', parseDurationMs)
    .option('--health-timeout <duration>', 'how long a check may take', parseDurationMs)
    .option('--health-retries <n>', 'failures in a row that make it unhealthy', parseNonNegativeInt('--health-retries'))
    .option('--health-start-period <duration>', 'grace time after start when failures do not count', parseDurationMs)
    .option('--no-healthcheck', 'disable the image’s health check')
    .option('--stop-signal <signal>', 'signal that stops the container (default SIGTERM or the image’s)')
    .option(
      '--stop-timeout <seconds>',
      'seconds to wait after the stop signal before killing',
      parseNonNegativeInt('--stop-timeout'),
    );
}

function healthConfig(f: ContainerFlags): HealthConfig | undefined {
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
    return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  }
  if (!f.healthCmd && !tuned) return undefined;
  return {
    // Without --health-cmd the image's test stays and only the timings change.
    test: f.healthCmd ? ['CMD-SHELL', f.healthCmd] : [],
    intervalMs: f.healthInterval ?? 0,
    timeoutMs: f.healthTimeout ?? 0,
    retries: f.healthRetries ?? 0,
    startPeriodMs: f.healthStartPeriod ?? 0,
  };
}

/**
 * `--entrypoint E` replaces the image's entrypoint, the words after IMAGE its cmd. `--entrypoint ""`
 * clears the entrypoint (Docker's way to run another command in an image that has one): the
 * words after IMAGE are then the whole command, and there must be some.
 */
function argv(entrypoint: string | undefined, command: readonly string[]): { command: string[]; args: string[] } {
  if (entrypoint === undefined) return { command: [], args: [...command] };
  if (entrypoint !== '') return { command: [entrypoint], args: [...command] };
  if (command.length === 0)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      '--entrypoint "" clears the image\'s entrypoint and cmd, so a command is needed. Give one after the image',
    );
  return { command: [...command], args: [] };
}

/**
 * The ContainerConfig Docker's flags describe. `--entrypoint` replaces the image's entrypoint and
 * the words after IMAGE its cmd, as in Docker.
 */
export function buildContainerConfig(image: string, command: readonly string[], f: ContainerFlags): ContainerConfig {
  const spec = ContainerSpec.fromPartial({
    image,
    labels: Object.fromEntries(f.label ?? []),
    ...argv(f.entrypoint, command),
    hostname: f.hostname ?? '',
    dnsNameservers: f.dns ?? [],
    dnsSearch: f.dnsSearch ?? [],
    dnsOptions: f.dnsOption ?? [],
    env: (f.env ?? []).filter((e): e is string => e !== undefined),
    dir: f.workdir ?? '',
    user: f.user ?? '',
    init: f.init ?? false,
    readOnly: f.readOnly ?? false,
    mounts: [...(f.volume ?? []), ...(f.tmpfs ?? [])],
    stopSignal: f.stopSignal ?? '',
    ...(f.stopTimeout !== undefined ? { stopGracePeriodMs: f.stopTimeout * 1000 } : {}),
    healthcheck: healthConfig(f),
    capabilityAdd: f.capAdd ?? [],
    capabilityDrop: f.capDrop ?? [],
    // The last --security-opt no-new-privileges[:bool] wins, as in Docker.
    noNewPrivileges: f.securityOpt?.at(-1)?.noNewPrivileges ?? false,
  });
  const limits = { nanoCpus: f.cpus ?? 0, memoryBytes: f.memory ?? 0, pids: f.pidsLimit ?? 0 };
  return {
    name: f.name ?? '',
    spec,
    resources: { limits, reservations: undefined },
    networkMode: f.network ?? '',
    ports: f.publish ?? [],
    taskId: '',
    autoRemove: f.rm ?? false,
  };
}

/** Commander gives `--no-healthcheck` as `healthcheck: false`; this maps it onto ContainerFlags. */
export function containerFlags(opts: ContainerFlags & { healthcheck?: boolean }): ContainerFlags {
  return { ...opts, noHealthcheck: opts.healthcheck === false };
}
