import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type {
  DockerMount,
  DockerPortConfig,
  DockerRestartPolicy,
  DockerServiceSpec,
} from '../../lib/api-client/swarm-types.js';
import { addHealthOptions, healthcheck, type HealthFlags } from './container-config.js';
import { csvRecord, readEnvFile, shellWords } from './docker-notations.js';
import { collect, parseDurationMs, parseEnv, parseLabel, parseNonNegativeInt, parseSizeBytes } from './engine-flags.js';

/**
 * The container, restart and endpoint flags of `service create`, read as `docker service create`
 * reads them (docker/cli's service/opts.go and opts/): each parser throws commander's
 * InvalidArgumentError, so a bad value is a usage error (exit 2) before any request; the
 * manager checks the meaning again (manager/controlapi/service-spec.ts) for every client.
 */

const bad = (message: string) => new InvalidArgumentError(message);
const NS_PER_MS = 1_000_000;
/** Docker's restart policy defaults once any --restart-* flag is given (SwarmKit's defaults). */
const RESTART_DELAY_DEFAULT_MS = 5_000;

// ---- --mount ----

const MOUNT_TYPES = ['bind', 'volume', 'tmpfs'] as const;
const BOOLEAN_MOUNT_KEYS = ['readonly', 'ro', 'volume-nocopy'];
/** docker's options tswarm's engine does not apply: refused by name rather than ignored. */
const UNSUPPORTED_MOUNT_KEYS: Record<string, string> = {
  'bind-recursive': 'bind mounts are recursive',
  'bind-nonrecursive': 'bind mounts are recursive',
  'bind-create-src': 'a bind source must exist on the node',
  'volume-opt': 'the local volume driver takes no options',
  'volume-subpath': 'a volume is mounted whole',
  'image-subpath': 'image mounts are not supported',
};

function mountBool(key: string, value: string | undefined): boolean {
  if (value === undefined || value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw bad(`invalid --mount value for '${key}': "${value}". Give true, 1, false or 0 (or ${key} alone for true)`);
}

/** Options of one mount type given to another: refused, as docker's CLI refuses them. */
function checkMountOptions(m: DockerMount): void {
  if (m.Type !== 'volume' && m.VolumeOptions) throw bad(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.Type !== 'tmpfs' && m.TmpfsOptions) throw bad(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  if (!m.Target) throw bad('--mount needs a target, e.g. type=volume,source=data,target=/data');
  if (m.Type === 'bind' && !m.Source)
    throw bad('a bind --mount needs a source, e.g. type=bind,source=/srv/data,target=/data');
  if (m.Type === 'tmpfs' && m.Source) throw bad(`a tmpfs --mount takes no source ("${m.Source}"). Leave source out`);
}

/** One mount option (a `key=value` CSV field) applied to the mount being built. */
function applyMountOption(m: DockerMount, key: string, value: string | undefined, field: string): void {
  const volumeOptions = () => (m.VolumeOptions ??= {});
  const tmpfsOptions = () => (m.TmpfsOptions ??= {});
  switch (key) {
    case 'type': {
      const type = value!.toLowerCase();
      if (!(MOUNT_TYPES as readonly string[]).includes(type))
        throw bad(`mount type '${value}' is not supported. Use bind, volume or tmpfs`);
      m.Type = type as DockerMount['Type'];
      return;
    }
    case 'source':
    case 'src':
      // As docker: a relative path starting with "." is a bind source relative to here.
      m.Source = value!.startsWith('.') ? resolve(value!) : value!;
      return;
    case 'target':
    case 'dst':
    case 'destination':
      m.Target = value!;
      return;
    case 'readonly':
    case 'ro':
      m.ReadOnly = mountBool(key, value);
      return;
    case 'volume-nocopy':
      volumeOptions().NoCopy = mountBool(key, value);
      return;
    case 'volume-label': {
      const [k, v] = parseLabel(value!);
      volumeOptions().Labels = { ...volumeOptions().Labels, [k]: v };
      return;
    }
    case 'volume-driver':
      if (value !== 'local') throw bad(`volume-driver '${value}' is not supported: volumes use the local driver`);
      volumeOptions();
      return;
    case 'tmpfs-size':
      tmpfsOptions().SizeBytes = parseSizeBytes(value!);
      return;
    case 'tmpfs-mode':
      if (!/^[0-7]{1,4}$/.test(value!))
        throw bad(`invalid --mount value for tmpfs-mode: "${value}". Give octal bits such as 1777`);
      tmpfsOptions().Mode = parseInt(value!, 8);
      return;
    case 'bind-propagation':
      if (value!.toLowerCase() !== 'rprivate')
        throw bad(`bind-propagation '${value}' is not supported: bind mounts are rprivate`);
      return;
    case 'consistency':
      return; // docker's macOS option: no effect on Linux, there as here
    default:
      if (UNSUPPORTED_MOUNT_KEYS[key])
        throw bad(`--mount option '${key}' is not supported: ${UNSUPPORTED_MOUNT_KEYS[key]}`);
      throw bad(
        `unknown --mount option '${key}' in '${field}'. Use type, source, target, readonly, volume-label, volume-nocopy, tmpfs-size or tmpfs-mode`,
      );
  }
}

/**
 * `--mount type=volume,source=data,target=/data[,readonly][,volume-label=k=v][,volume-nocopy]`,
 * `type=bind,source=/srv,target=/srv`, `type=tmpfs,target=/run,tmpfs-size=64m,tmpfs-mode=1777`:
 * one CSV record (fields may be quoted), as docker's MountOpt. The type defaults to volume.
 */
export function parseMount(value: string): DockerMount {
  const text = value.trim();
  if (text === '') throw bad('--mount is empty. Give e.g. type=volume,source=data,target=/data');
  const mount: DockerMount = { Type: 'volume', Target: '' };
  for (const field of csvRecord(text, '--mount')) {
    const eq = field.indexOf('=');
    const rawKey = eq === -1 ? field : field.slice(0, eq);
    const val = eq === -1 ? undefined : field.slice(eq + 1);
    if (rawKey.trim() !== rawKey)
      throw bad(`invalid --mount option '${rawKey.trim()}' in '${field}': no whitespace around it`);
    if (val !== undefined && val.trim() === '') throw bad(`invalid --mount value for '${rawKey}': it is empty`);
    if (val !== undefined && val.trim() !== val)
      throw bad(`invalid --mount value for '${rawKey}' in '${field}': no whitespace around it`);
    const key = rawKey.toLowerCase();
    if (val === undefined && !BOOLEAN_MOUNT_KEYS.includes(key))
      throw bad(`invalid --mount field '${field}': it must be a key=value pair`);
    applyMountOption(mount, key, val, field);
  }
  checkMountOptions(mount);
  return mount;
}

// ---- --publish ----

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

function portNumber(text: string, what: string, allowZero: boolean): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65_535 || (!allowZero && n === 0))
    throw bad(`invalid ${what} "${text}". Give a port from ${allowZero ? 0 : 1} to 65535`);
  return n;
}

/** "8080" or "8080-8082": the ports of a range, in order. */
function portRange(text: string, what: string, allowZero: boolean): number[] {
  const [first = '', last, ...rest] = text.split('-');
  if (rest.length > 0) throw bad(`invalid ${what} "${text}". Give a port or a range such as 8080-8082`);
  const start = portNumber(first, what, allowZero);
  if (last === undefined) return [start];
  const end = portNumber(last, what, allowZero);
  if (end < start) throw bad(`invalid ${what} range "${text}": it ends before it starts`);
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

/** `published=8080,target=80,protocol=udp,mode=host`: docker's long syntax. */
function longPublish(value: string): DockerPortConfig {
  const port: DockerPortConfig = { Protocol: 'tcp', TargetPort: 0, PublishedPort: 0, PublishMode: 'ingress' };
  for (const field of csvRecord(value, '--publish')) {
    const [key = '', val, ...more] = field.toLowerCase().split('=');
    if (key === '' || val === undefined || more.length > 0)
      throw bad(`invalid --publish field "${field}". Use key=value`);
    switch (key) {
      case 'target':
        port.TargetPort = portNumber(val, '--publish target port', false);
        break;
      case 'published':
        port.PublishedPort = portNumber(val, '--publish published port', true);
        break;
      case 'protocol':
        if (!(PROTOCOLS as readonly string[]).includes(val))
          throw bad(`invalid --publish protocol "${val}". Use tcp, udp or sctp`);
        port.Protocol = val as DockerPortConfig['Protocol'];
        break;
      case 'mode':
        if (val !== 'ingress' && val !== 'host') throw bad(`invalid --publish mode "${val}". Use ingress or host`);
        port.PublishMode = val;
        break;
      default:
        throw bad(`invalid --publish field "${key}". Use published, target, protocol or mode`);
    }
  }
  if (port.TargetPort === 0) throw bad(`--publish "${value}" has no target. Give target=PORT`);
  return port;
}

/** `[PUBLISHED:]TARGET[/PROTOCOL]`, ports or equal ranges: docker's short syntax (no host IP for a service). */
function shortPublish(value: string): DockerPortConfig[] {
  const usage = `invalid --publish "${value}". Use PUBLISHED:TARGET[/tcp|udp|sctp] (e.g. 8080:80) or published=8080,target=80`;
  const [spec = '', proto = 'tcp', ...rest] = value.split('/');
  const protocol = proto.toLowerCase();
  if (rest.length > 0 || !(PROTOCOLS as readonly string[]).includes(protocol)) throw bad(usage);
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p, i) => p === '' && i === parts.length - 1)) throw bad(usage);
  if (parts.length === 3)
    throw bad(`--publish "${value}": a host IP is not supported for a service. Use PUBLISHED:TARGET`);
  const targets = portRange(parts[parts.length - 1]!, '--publish target port', false);
  const published = parts.length === 2 && parts[0] !== '' ? portRange(parts[0]!, '--publish published port', true) : [];
  if (published.length > 0 && published.length !== targets.length)
    throw bad(`--publish "${value}": the published and target ranges differ in size. Give ranges of the same length`);
  return targets.map((target, i) => ({
    Protocol: protocol as DockerPortConfig['Protocol'],
    TargetPort: target,
    PublishedPort: published[i] ?? 0,
    PublishMode: 'ingress',
  }));
}

/** `-p/--publish`, either syntax, as docker's PortOpt reads it: one flag may give several ports (a range). */
export function parsePublish(value: string): DockerPortConfig[] {
  return /\w+=\w+(,\w+=\w+)*/.test(value) ? [longPublish(value)] : shortPublish(value);
}

// ---- smaller values ----

/** `--host NAME:IP` (or NAME=IP; an IPv6 address may be in brackets), sent in SwarmKit's "IP NAME" form, as docker does. */
export function parseExtraHost(value: string): string {
  let at = value.indexOf('=');
  if (at === -1) at = value.indexOf(':');
  const name = at === -1 ? '' : value.slice(0, at);
  let ip = at === -1 ? '' : value.slice(at + 1);
  if (/^\[.*\]$/.test(ip)) ip = ip.slice(1, -1);
  if (name === '' || name.includes(':') || isIP(ip) === 0)
    throw bad(`invalid --host "${value}". Give NAME:IP, e.g. db:10.0.0.5`);
  return `${ip} ${name}`;
}

export function parseDnsServer(value: string): string {
  if (isIP(value.trim()) === 0) throw bad(`invalid --dns "${value}": not an IP address. Give one such as 10.0.0.2`);
  return value.trim();
}

/** `--dns-search DOMAIN` ("." for none), as docker's ValidateDNSSearch. */
export function parseDnsSearch(value: string): string {
  const domain = value.trim();
  if (domain === '.') return domain;
  if (!/[a-zA-Z]/.test(domain) || !/^\.?[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*\.?$/.test(domain) || domain.length > 253)
    throw bad(`invalid --dns-search "${value}": not a domain. Give one such as example.com`);
  return domain;
}

export function parseSysctl(value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw bad(`invalid --sysctl "${value}". Use NAME=VALUE, e.g. net.ipv4.ip_forward=1`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** `--entrypoint "sh -c 'echo hi'"`: shell words, as docker's ShlexOpt (empty: the image's entrypoint stays). */
export function parseEntrypoint(value: string): string[] {
  return shellWords(value, '--entrypoint');
}

/** Go durations as docker reads them (`1m30s`, `500ms`), never negative. */
const duration = (flag: string) => (value: string) => {
  if (value.trim().startsWith('-')) throw bad(`invalid ${flag} "${value}": a duration is not negative`);
  return parseDurationMs(value);
};

const wholeNumber = (flag: string) => parseNonNegativeInt(flag);

// ---- the flags, parsed ----

/** What the flags below leave in commander's options object. */
export interface ServiceTaskFlags extends HealthFlags {
  env: (string | undefined)[];
  envFile: string[][];
  mount: DockerMount[];
  limitPids?: number;
  /** Commander's `--no-healthcheck`: false when given. */
  healthcheck?: boolean;
  stopGracePeriod?: number;
  stopSignal?: string;
  hostname?: string;
  workdir?: string;
  user?: string;
  group: string[];
  entrypoint?: string[];
  init?: boolean;
  capAdd: string[];
  capDrop: string[];
  readOnly?: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  host: string[];
  tty?: boolean;
  sysctl: [string, string][];
  restartCondition?: DockerRestartPolicy['Condition'];
  restartDelay?: number;
  restartMaxAttempts?: number;
  restartWindow?: number;
  publish: DockerPortConfig[][];
}

/** The container, restart and endpoint flags of `service create`, as docker names them. */
export function addServiceTaskOptions(cmd: Command): Command {
  return addHealthOptions(
    cmd
      .option(
        '-e, --env <key=value>',
        'environment variable; KEY alone copies it from this shell (repeatable)',
        collect((v) => parseEnv(v)),
        [],
      )
      .option(
        '--env-file <file>',
        'read environment variables from a file of KEY=VALUE lines (repeatable)',
        collect((f) => readEnvFile(f)),
        [],
      )
      .option(
        '--mount <mount>',
        'attach a mount: type=volume|bind|tmpfs,source=…,target=…[,readonly][,volume-label=k=v][,volume-nocopy][,tmpfs-size=…][,tmpfs-mode=…] (repeatable)',
        collect(parseMount),
        [],
      )
      .option('--limit-pids <n>', 'the most processes a task may have (0: no limit)', wholeNumber('--limit-pids'))
      .option('-w, --workdir <dir>', 'working directory inside the container')
      .option('-u, --user <user>', 'username or UID, optionally with :group or :GID')
      .option('--group <group>', 'an additional group for the user (repeatable)', collect(String), [])
      .option('--hostname <name>', 'the container’s host name')
      .option(
        '--entrypoint <command>',
        'replace the image’s entrypoint; a command line, split into words',
        parseEntrypoint,
      )
      .option('--init', 'run an init process (catatonit) as PID 1 that reaps zombies and forwards signals')
      .option('--cap-add <cap>', 'add a Linux capability, e.g. NET_ADMIN (repeatable)', collect(String), [])
      .option('--cap-drop <cap>', 'drop a Linux capability, e.g. CHOWN or ALL (repeatable)', collect(String), [])
      .option('--read-only', 'mount the container’s root filesystem read-only')
      .option('-t, --tty', 'allocate a pseudo-TTY')
      .option('--dns <ip>', 'a nameserver for the container’s resolv.conf (repeatable)', collect(parseDnsServer), [])
      .option('--dns-search <domain>', 'a DNS search domain (repeatable)', collect(parseDnsSearch), [])
      .option('--dns-option <option>', 'a resolv.conf option, e.g. ndots:2 (repeatable)', collect(String), [])
      .option('--host <name:ip>', 'an extra /etc/hosts entry (repeatable)', collect(parseExtraHost), [])
      .option(
        '--sysctl <name=value>',
        'a namespaced kernel parameter, e.g. net.core.somaxconn=1024 (repeatable)',
        collect(parseSysctl),
        [],
      )
      .option('--stop-signal <signal>', 'signal that stops the container (default SIGTERM or the image’s)')
      .option(
        '--stop-grace-period <duration>',
        'time to wait after the stop signal before killing (default 10s)',
        duration('--stop-grace-period'),
      )
      .addOption(
        new Option('--restart-condition <condition>', 'restart when: none, on-failure or any (default any)').choices([
          'none',
          'on-failure',
          'any',
        ]),
      )
      .option('--restart-delay <duration>', 'delay between restart attempts (default 5s)', duration('--restart-delay'))
      .option(
        '--restart-max-attempts <n>',
        'most restarts before giving up (default 0: no limit)',
        wholeNumber('--restart-max-attempts'),
      )
      .option(
        '--restart-window <duration>',
        'window used to count restart attempts (default 0: unbounded)',
        duration('--restart-window'),
      )
      .option(
        '-p, --publish <port>',
        'publish a port: PUBLISHED:TARGET[/udp] or published=8080,target=80[,protocol=udp][,mode=ingress|host] (repeatable; stored and checked now, routed once overlay networking lands)',
        collect(parsePublish),
        [],
      ),
  );
}

/** Env files first, then --env, each key once with its last value, in the order docker's makeEnv keeps. */
export function serviceEnv(envFiles: readonly string[][], env: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const entry of [...envFiles.flat(), ...env.filter((e): e is string => e !== undefined)]) {
    if (out.includes(entry)) continue;
    const key = entry.split('=', 1)[0]!;
    const kept = out.filter((e) => e.split('=', 1)[0] !== key);
    out.length = 0;
    out.push(...kept, entry);
  }
  return out;
}

/** docker's capability arithmetic on the client (EffectiveCapAddCapDrop): upper case, CAP_ prefix, ALL wins, an add beats a drop. */
export function effectiveCapabilities(
  add: readonly string[],
  drop: readonly string[],
): { add: string[]; drop: string[] } {
  const norm = (c: string) => {
    const u = c.trim().toUpperCase();
    return u === 'ALL' || u.startsWith('CAP_') ? u : `CAP_${u}`;
  };
  let adds = new Set(add.map(norm));
  let drops = new Set(drop.map(norm));
  if (adds.has('ALL')) adds = new Set(['ALL']);
  if (drops.has('ALL')) drops = new Set(['ALL']);
  return { add: [...adds].sort(), drop: [...drops].filter((c) => !adds.has(c)).sort() };
}

type ContainerSpecBody = DockerServiceSpec['TaskTemplate']['ContainerSpec'];

/** The ContainerSpec fields the flags give, left out when not given (the image's or the engine's defaults hold). */
export function containerSpecFromFlags(f: ServiceTaskFlags): Omit<ContainerSpecBody, 'Image'> {
  const env = serviceEnv(f.envFile, f.env);
  const caps = effectiveCapabilities(f.capAdd, f.capDrop);
  const health = healthcheck({ ...f, noHealthcheck: f.healthcheck === false || f.noHealthcheck });
  const nonEmpty = <T>(list: readonly T[]) => (list.length > 0 ? [...list] : undefined);
  const spec: Omit<ContainerSpecBody, 'Image'> = {
    Command: f.entrypoint && f.entrypoint.length > 0 ? f.entrypoint : undefined,
    Env: nonEmpty(env),
    Hostname: f.hostname,
    Dir: f.workdir,
    User: f.user,
    Groups: nonEmpty(f.group),
    StopSignal: f.stopSignal,
    StopGracePeriod: f.stopGracePeriod === undefined ? undefined : f.stopGracePeriod * NS_PER_MS,
    TTY: f.tty,
    ReadOnly: f.readOnly,
    Init: f.init,
    Mounts: nonEmpty(f.mount),
    Healthcheck: health,
    Hosts: nonEmpty(f.host),
    DNSConfig:
      f.dns.length || f.dnsSearch.length || f.dnsOption.length
        ? { Nameservers: nonEmpty(f.dns), Search: nonEmpty(f.dnsSearch), Options: nonEmpty(f.dnsOption) }
        : undefined,
    Sysctls: f.sysctl.length ? Object.fromEntries(f.sysctl) : undefined,
    CapabilityAdd: nonEmpty(caps.add),
    CapabilityDrop: nonEmpty(caps.drop),
  };
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
}

/** A restart policy when any --restart-* flag is given: docker fills the others with SwarmKit's defaults. */
export function restartPolicyFromFlags(f: ServiceTaskFlags): DockerRestartPolicy | undefined {
  const given = [f.restartCondition, f.restartDelay, f.restartMaxAttempts, f.restartWindow].some(
    (v) => v !== undefined,
  );
  if (!given) return undefined;
  return {
    Condition: f.restartCondition ?? 'any',
    Delay: (f.restartDelay ?? RESTART_DELAY_DEFAULT_MS) * NS_PER_MS,
    MaxAttempts: f.restartMaxAttempts ?? 0,
    Window: (f.restartWindow ?? 0) * NS_PER_MS,
  };
}

/** The endpoint docker sends: VIP mode, and the published ports when there are some. */
export function endpointSpecFromFlags(f: ServiceTaskFlags): NonNullable<DockerServiceSpec['EndpointSpec']> {
  const ports = f.publish.flat();
  return { Mode: 'vip', ...(ports.length ? { Ports: ports } : {}) };
}
