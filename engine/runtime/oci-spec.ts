import { posix } from 'node:path';
import type { OciImageConfig } from '../image-contract.js';
import type { ContainerSpec, HealthConfig, Resources } from '../../gen/tswarm/v1/objects.js';
import { DEFAULT_DEVICE_RULES, INIT_PATH_IN_CONTAINER, MASKED_PATHS, READONLY_PATHS } from './defaults.js';
import { mergeEnv, resolveArgv, resolveCapabilities, resolveHealth, resolveStopSignal } from './process.js';
import { defaultSeccompProfile, type SeccompProfile } from './seccomp.js';
import { resolveUser, type ProcessUser } from './user.js';

/** A mount after the caller resolved it: named volumes are host paths by now, bind sources checked. */
export interface ResolvedMount {
  type: 'bind' | 'tmpfs';
  /** Host path for a bind; ignored for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
  tmpfsSizeBytes?: number;
  /** Permission bits, e.g. 0o1777. */
  tmpfsMode?: number;
}

export interface OciSpecInput {
  rootfsPath: string;
  image: OciImageConfig;
  spec: ContainerSpec;
  limits?: Resources | undefined;
  reservations?: Resources | undefined;
  /** Contents of the rootfs's /etc/passwd and /etc/group ("" when absent). */
  passwd: string;
  group: string;
  hostname: string;
  cgroupsPath: string;
  /**
   * Path of the network namespace to join; '' for a new one the runtime makes (network mode none);
   * null shares the host's network (network mode host).
   */
  netnsPath: string | null;
  /** Host files bind-mounted over /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  mounts: ResolvedMount[];
  /** Host path of catatonit, needed when spec.init is set. */
  initHostPath?: string;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** The parts of the OCI runtime spec (config.json) tswarm writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: {
      bounding: string[];
      effective: string[];
      permitted: string[];
      inheritable: string[];
      ambient: string[];
    };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    cgroupsPath: string;
    resources: Record<string, unknown>;
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp: SeccompProfile;
    sysctl: Record<string, string>;
  };
  /** Runtime-specific settings, such as crun's precompiled seccomp filter. */
  annotations?: Record<string, string>;
}

export interface OciSpecResult {
  oci: OciSpec;
  /** What the container runs, before any init is put in front. */
  argv: string[];
  stopSignal: string;
  health: HealthConfig | undefined;
  user: ProcessUser;
}

/** Docker's size for /dev and /dev/shm (64 MiB). */
const DEV_SHM_SIZE = '65536k';
const CPU_PERIOD_US = 100_000;
const NANO_CPUS_PER_CPU = 1e9;
/** cgroup v1 cpu.shares for one CPU; a reservation scales it, with the kernel's minimum of 2. */
const SHARES_PER_CPU = 1024;
const SHARES_MIN = 2;

/**
 * Mounts in the order the runtime must make them: a parent before what is mounted under it, or a
 * volume at /etc would cover the generated /etc/hosts (Docker sorts by path depth the same way).
 * The sort is stable, so mounts of equal depth keep the order they were given in.
 */
export function parentsFirst(mounts: readonly OciMount[]): OciMount[] {
  const depth = (m: OciMount) =>
    posix
      .normalize(m.destination)
      .split('/')
      .filter((p) => p !== '').length;
  return [...mounts].sort((a, b) => depth(a) - depth(b));
}

function systemMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', `size=${DEV_SHM_SIZE}`],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${DEV_SHM_SIZE}`],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

function userMount(m: ResolvedMount): OciMount {
  if (m.type === 'tmpfs') {
    // Docker's tmpfs defaults: noexec, nosuid, nodev; size and mode only when given.
    const options = ['nosuid', 'nodev', 'noexec'];
    if (m.tmpfsSizeBytes) options.push(`size=${m.tmpfsSizeBytes}`);
    if (m.tmpfsMode) options.push(`mode=${m.tmpfsMode.toString(8)}`);
    if (m.readOnly) options.push('ro');
    return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
  }
  return {
    destination: m.target,
    type: 'bind',
    source: m.source,
    options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'],
  };
}

function etcMounts(files: OciSpecInput['etcFiles']): OciMount[] {
  const bind = (destination: string, source: string): OciMount => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate'],
  });
  return [
    bind('/etc/hosts', files.hosts),
    bind('/etc/hostname', files.hostname),
    bind('/etc/resolv.conf', files.resolvConf),
  ];
}

/** linux.resources: memory without swap, CPU quota from nano CPUs, shares from the reservation, pids. */
export function cgroupResources(limits?: Resources, reservations?: Resources): Record<string, unknown> {
  const resources: Record<string, unknown> = { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) };
  if (limits?.memoryBytes) resources['memory'] = { limit: limits.memoryBytes, swap: limits.memoryBytes };
  const cpu: Record<string, number> = {};
  if (limits?.nanoCpus) {
    cpu['quota'] = Math.round((limits.nanoCpus * CPU_PERIOD_US) / NANO_CPUS_PER_CPU);
    cpu['period'] = CPU_PERIOD_US;
  }
  if (reservations?.nanoCpus)
    cpu['shares'] = Math.max(SHARES_MIN, Math.round((reservations.nanoCpus * SHARES_PER_CPU) / NANO_CPUS_PER_CPU));
  if (Object.keys(cpu).length > 0) resources['cpu'] = cpu;
  if (limits?.pids) resources['pids'] = { limit: limits.pids };
  return resources;
}

function namespaces(netnsPath: string | null): { type: string; path?: string }[] {
  const list: { type: string; path?: string }[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  // '' (RUNTIME_MADE_NETNS): a new namespace, which the runtime makes with lo up.
  if (netnsPath === '') list.push({ type: 'network' });
  else if (netnsPath !== null) list.push({ type: 'network', path: netnsPath });
  return list;
}

/**
 * The OCI runtime config for one container: a pure function of the image config, the spec and
 * what the caller prepared (rootfs, etc files, netns, resolved mounts), so every Docker rule it
 * encodes is unit-tested without a runtime.
 */
export function buildOciSpec(input: OciSpecInput): OciSpecResult {
  const { image, spec } = input;
  const argv = resolveArgv(image, spec);
  const user = resolveUser(spec.user || image.User || '', input.passwd, input.group, spec.groups);
  const caps = resolveCapabilities(spec.capabilityAdd, spec.capabilityDrop);
  const env = mergeEnv(image.Env ?? [], spec.env, { HOSTNAME: input.hostname, HOME: user.home });
  const given = input.mounts.map(userMount);
  // A mount the user gives for /etc/hosts (or hostname, resolv.conf) replaces the generated file.
  const taken = new Set(given.map((m) => posix.normalize(m.destination)));
  const container = [...etcMounts(input.etcFiles).filter((m) => !taken.has(m.destination)), ...given];
  let args = argv;
  if (spec.init) {
    if (!input.initHostPath) throw new Error('buildOciSpec: init requested without initHostPath');
    container.push({
      destination: INIT_PATH_IN_CONTAINER,
      type: 'bind',
      source: input.initHostPath,
      options: ['rbind', 'rprivate', 'ro'],
    });
    args = [INIT_PATH_IN_CONTAINER, '--', ...argv];
  }
  const mounts = [...systemMounts(), ...parentsFirst(container)];
  const oci: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      // TTY: the runtime gives the process a pseudo-terminal (conmon holds its master side).
      terminal: spec.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args,
      env,
      cwd: spec.dir || image.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      // No rlimits: the container inherits the daemon's, as Docker's default-ulimits do unless
      // configured (a fixed 1048576 fails where the daemon's hard limit is lower).
      rlimits: [],
      noNewPrivileges: spec.noNewPrivileges,
    },
    root: { path: input.rootfsPath, readonly: spec.readOnly },
    hostname: input.hostname,
    mounts,
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources: cgroupResources(input.limits, input.reservations),
      namespaces: namespaces(input.netnsPath),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      seccomp: defaultSeccompProfile(caps),
      sysctl: { ...spec.sysctls },
    },
  };
  return { oci, argv, stopSignal: resolveStopSignal(image, spec), health: resolveHealth(image, spec), user };
}
