import { isIP } from 'node:net';
import { isAbsolute, posix } from 'node:path';
import { TswarmError } from './errors.js';
import { MountType, type ContainerSpec, type HealthConfig, type Mount } from '../gen/tswarm/v1/objects.js';
import { checkCapability, normalizeSignal } from './linux-names.js';

/**
 * The checks on a container spec that hold wherever it comes from — `docker run` on one node
 * (engine/facade/validate.ts) or a service's task template checked by the manager before it is
 * stored (manager/controlapi/service-spec.ts) — so a spec the manager accepts is one every node's
 * engine runs, and a bad one is refused where it was given, never as a task rejected later on a
 * worker. Every list and string has a bound; every refusal names the value and what to give.
 */

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

/** Image references and IDs are short; 512 leaves room for long registry paths. */
export const REFERENCE_CHARS_MAX = 512;
export const NAME_CHARS_MAX = 128;
export const LIST_ITEMS_MAX = 1_000;
/** The whole command line plus environment; Linux's own ARG_MAX is 2 MiB. */
const ARGV_ENV_BYTES_MAX = 1024 * 1024;
export const MOUNTS_MAX = 256;
/** Docker's rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ENGINE_LABEL_PREFIX = 'tswarm.engine.';
/** Docker's label (since 23.0) on a volume made for a `-v /path` without a name. */
export const LABEL_ANONYMOUS_VOLUME = 'com.docker.volume.anonymous';
/** sethostname(2) takes at most 64 bytes; each dot-separated label is a DNS label (RFC 1123). */
const HOSTNAME =
  /^(?=.{1,64}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*$/;
/** A health check timing, when given, is at least this (Docker's rule). */
const HEALTH_TIMING_MS_MIN = 1;
/** Failures in a row before "unhealthy": more than anyone waits for, and within the proto's uint32. */
export const HEALTH_RETRIES_MAX = 1_000_000;
/** Permission bits: a tmpfs mode is at most 07777. */
const FILE_MODE_MAX = 0o7777;
/** A user or group as Docker takes it: a name or a number, no colon, no whitespace. */
const USER_PART = /^[^:\s]{1,256}$/;
/** A uid or gid the kernel can hold (32 bits; 2^32 - 1 is "no id"). */
const ID_MAX = 2 ** 32 - 2;
/** The sysctls a container may set (moby's ValidateSysctl): the ones its namespaces make its own. */
const NAMESPACED_SYSCTLS = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
];
const NAMESPACED_SYSCTL_PREFIXES = ['fs.mqueue.', 'net.'];

export function requireText(what: string, value: string, charsMax = REFERENCE_CHARS_MAX): string {
  if (value === '') throw invalid(`${what} is empty. Give one`);
  if (value.length > charsMax) throw invalid(`${what} is longer than ${charsMax} characters. Give a shorter one`);
  if (/[\s\0]/.test(value)) throw invalid(`${what} "${value}" contains whitespace. Remove it`);
  return value;
}

export function validateVolumeName(name: string, optional = false): void {
  if (optional && name === '') return;
  if (name.length > NAME_CHARS_MAX || !VOLUME_NAME.test(name)) {
    throw invalid(
      `invalid volume name "${name}". Use at least two letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

export function validateLabels(labels: Record<string, string>, what = 'label'): void {
  const entries = Object.entries(labels);
  if (entries.length > LIST_ITEMS_MAX)
    throw invalid(`too many ${what}s (${entries.length}). Give at most ${LIST_ITEMS_MAX}`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > NAME_CHARS_MAX * 2 || v.length > 4096)
      throw invalid(`invalid ${what} "${k}". Keys are 1-256 characters, values up to 4096`);
    if (k.startsWith(ENGINE_LABEL_PREFIX))
      throw invalid(`${what} "${k}" uses the reserved prefix ${ENGINE_LABEL_PREFIX}. Choose another key`);
  }
}

export function isValidHostname(name: string): boolean {
  return HOSTNAME.test(name);
}

const MOUNT_TYPE_WORD: Record<number, string> = {
  [MountType.MOUNT_TYPE_BIND]: 'bind',
  [MountType.MOUNT_TYPE_VOLUME]: 'volume',
  [MountType.MOUNT_TYPE_TMPFS]: 'tmpfs',
};

/** Options of one mount type given to another are a mistake, refused as Docker's CLI refuses them. */
function checkMountOptionsFitType(m: Mount): void {
  const type = MOUNT_TYPE_WORD[m.type] ?? 'unknown';
  if (m.type !== MountType.MOUNT_TYPE_TMPFS && (m.tmpfsSizeBytes !== 0 || m.tmpfsMode !== 0))
    throw invalid(`mount ${m.target}: tmpfs-size and tmpfs-mode are for tmpfs mounts, not ${type}. Use type=tmpfs`);
  if (m.type !== MountType.MOUNT_TYPE_VOLUME && (Object.keys(m.volumeLabels).length > 0 || m.volumeNoCopy))
    throw invalid(
      `mount ${m.target}: volume-label and volume-nocopy are for volume mounts, not ${type}. Use type=volume`,
    );
  if (m.type === MountType.MOUNT_TYPE_TMPFS && m.source !== '')
    throw invalid(`mount ${m.target}: a tmpfs mount takes no source ("${m.source}"). Leave source out`);
}

function validateMount(m: Mount): void {
  // The engine marks the volumes it names itself; a client's mark would make rm -v delete a named volume.
  if (LABEL_ANONYMOUS_VOLUME in m.volumeLabels)
    throw invalid(
      `volume label "${LABEL_ANONYMOUS_VOLUME}" is the engine's. Leave it out; a volume with no name is anonymous`,
    );
  if (!isAbsolute(m.target))
    throw invalid(`mount target "${m.target}" is not an absolute path. Give a path such as /data`);
  if (posix.normalize(m.target) === '/')
    throw invalid('a mount target cannot be / (the container’s root). Give a path such as /data');
  if (m.type === MountType.MOUNT_TYPE_UNSPECIFIED)
    throw invalid(`mount ${m.target} has no type. Use bind, volume or tmpfs`);
  if (MOUNT_TYPE_WORD[m.type] === undefined)
    throw invalid(`mount ${m.target} has an unknown type (${m.type}). Use bind, volume or tmpfs`);
  checkMountOptionsFitType(m);
  // An empty volume source is an anonymous volume: the engine names it.
  if (m.type === MountType.MOUNT_TYPE_VOLUME) validateVolumeName(m.source, true);
  else if (m.type === MountType.MOUNT_TYPE_BIND && !isAbsolute(m.source))
    throw invalid(
      m.source === ''
        ? `bind mount ${m.target} has no source. Give a host path such as source=/srv/data`
        : `bind mount source "${m.source}" is not an absolute path. Give a host path such as /srv/data`,
    );
  if (m.tmpfsSizeBytes < 0) throw invalid(`tmpfs size for ${m.target} is negative. Give a size such as 64m`);
  if (m.tmpfsMode < 0 || m.tmpfsMode > FILE_MODE_MAX)
    throw invalid(`tmpfs mode for ${m.target} is out of range. Give octal permission bits such as 1777`);
  validateLabels(m.volumeLabels, 'volume label');
}

/** Two mounts at one path: the second would hide the first (moby: "Duplicate mount point"). */
function validateMountTargets(mounts: readonly Mount[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    const target = posix.normalize(m.target).replace(/(.)\/$/, '$1');
    if (seen.has(target)) throw invalid(`duplicate mount point ${target}. Give each mount its own target`);
    seen.add(target);
  }
}

/** The test words Docker knows: CMD with a command, CMD-SHELL with a shell line, or NONE alone. */
function validateHealthTest(test: readonly string[]): void {
  if (test.length === 0) return; // no test: the image's, retimed
  const [kind, ...rest] = test;
  if (kind === 'NONE') {
    if (rest.length > 0) throw invalid('the health check test ["NONE", …] takes nothing after NONE');
    return;
  }
  if (kind !== 'CMD' && kind !== 'CMD-SHELL')
    throw invalid(`health check test must start with CMD, CMD-SHELL or NONE, not "${kind}"`);
  if (rest.length === 0 || rest.every((w) => w.trim() === ''))
    throw invalid(`the health check test ${kind} has no command. Give one, e.g. --health-cmd "wget -q localhost"`);
}

function validateHealth(h: HealthConfig): void {
  if (h.test.length > LIST_ITEMS_MAX)
    throw invalid(`the health check has too many words (${h.test.length}). Give at most ${LIST_ITEMS_MAX}`);
  validateHealthTest(h.test);
  const timings = { interval: h.intervalMs, timeout: h.timeoutMs, 'start period': h.startPeriodMs };
  for (const [what, ms] of Object.entries(timings)) {
    if (!Number.isFinite(ms) || (ms !== 0 && ms < HEALTH_TIMING_MS_MIN))
      throw invalid(
        `the health check ${what} ${ms} ms is out of range. Give 0 (the default) or at least ${HEALTH_TIMING_MS_MIN} ms`,
      );
  }
  if (!Number.isSafeInteger(h.retries) || h.retries < 0 || h.retries > HEALTH_RETRIES_MAX)
    throw invalid(
      `the health check retries ${h.retries} is out of range. Give 0 (the default, 3) to ${HEALTH_RETRIES_MAX}`,
    );
}

/** resolv.conf takes one item a word: an address for a nameserver, words without spaces for the rest. */
function validateDns(spec: ContainerSpec): void {
  const all = [...spec.dnsNameservers, ...spec.dnsSearch, ...spec.dnsOptions];
  if (all.length > LIST_ITEMS_MAX)
    throw invalid(`too many DNS settings (${all.length}). Give at most ${LIST_ITEMS_MAX}`);
  for (const server of spec.dnsNameservers)
    if (isIP(server) === 0) throw invalid(`DNS server "${server}" is not an IP address. Give one such as 10.0.0.2`);
  for (const word of [...spec.dnsSearch, ...spec.dnsOptions])
    if (word === '' || word.length > 253 || /[\s#;]/.test(word))
      throw invalid(
        `DNS setting "${word}" is not a single word. Give a domain (--dns-search) or an option such as ndots:2`,
      );
}

/**
 * An extra /etc/hosts entry in either form Docker carries: SwarmKit's "IP NAME [ALIAS…]" (what
 * `docker service create --host NAME:IP` sends) or the engine's "NAME:IP" (`docker run --add-host`).
 */
export function checkExtraHost(entry: string): void {
  const usage = `invalid extra host "${entry}". Give NAME:IP, e.g. db:10.0.0.5`;
  const words = entry.trim().split(/\s+/);
  let ip: string;
  let names: string[];
  if (words.length >= 2) [ip = '', ...names] = words;
  else {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw invalid(usage);
    names = [entry.slice(0, colon)];
    ip = entry.slice(colon + 1);
  }
  if (ip === 'host-gateway')
    throw invalid(`extra host "${entry}": host-gateway is not supported. Give the address itself, NAME:IP`);
  if (isIP(ip) === 0) throw invalid(`${usage} ("${ip}" is not an IP address)`);
  for (const name of names) if (!HOSTNAME.test(name)) throw invalid(`${usage} ("${name}" is not a host name)`);
}

/** Docker's user forms: NAME or UID, optionally with :GROUP or :GID; names are looked up in the image. */
export function checkUser(user: string): void {
  const parts = user.split(':');
  const fits = (p: string) => USER_PART.test(p) && (!/^\d+$/.test(p) || Number(p) <= ID_MAX);
  if (parts.length > 2 || !parts.every(fits))
    throw invalid(`invalid user "${user}". Give NAME or UID, optionally with :GROUP or :GID (e.g. 1000:1000)`);
}

function checkGroup(group: string): void {
  if (!USER_PART.test(group) || (/^\d+$/.test(group) && Number(group) > ID_MAX))
    throw invalid(`invalid group "${group}". Give a group name or a GID`);
}

function checkSysctl(key: string, value: string): void {
  if (!/^[a-z0-9_.\-/]{1,256}$/i.test(key))
    throw invalid(`invalid sysctl "${key}". Give a name such as net.ipv4.ip_forward`);
  if (/[\n\0]/.test(value) || value.length > 4096) throw invalid(`invalid value for sysctl ${key}`);
  if (!NAMESPACED_SYSCTLS.includes(key) && !NAMESPACED_SYSCTL_PREFIXES.some((p) => key.startsWith(p)))
    throw invalid(
      `sysctl ${key} is not namespaced: it would change the whole node. A container may set net.*, fs.mqueue.*, kernel.msg*, kernel.sem and kernel.shm*`,
    );
}

/** Everything a container spec must satisfy before an engine is asked to run it. */
export function checkContainerSpec(spec: ContainerSpec): void {
  requireText('the image reference', spec.image);
  const lists = {
    command: spec.command,
    args: spec.args,
    env: spec.env,
    hosts: spec.hosts,
    groups: spec.groups,
    'added capabilities': spec.capabilityAdd,
    'dropped capabilities': spec.capabilityDrop,
  };
  for (const [what, list] of Object.entries(lists))
    if (list.length > LIST_ITEMS_MAX)
      throw invalid(`too many ${what} (${list.length}). Give at most ${LIST_ITEMS_MAX}`);
  const bytes = [...spec.command, ...spec.args, ...spec.env].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
  if (bytes > ARGV_ENV_BYTES_MAX)
    throw invalid(`the command and environment take ${bytes} bytes. Keep them under ${ARGV_ENV_BYTES_MAX}`);
  for (const e of spec.env) if (/^=|^$/.test(e)) throw invalid(`invalid environment entry "${e}". Use KEY=VALUE`);
  if (spec.dir !== '' && !isAbsolute(spec.dir))
    throw invalid(`working directory "${spec.dir}" is not absolute. Give a path such as /app`);
  if (spec.user !== '') checkUser(spec.user);
  spec.groups.forEach(checkGroup);
  if (spec.mounts.length > MOUNTS_MAX)
    throw invalid(`too many mounts (${spec.mounts.length}). Give at most ${MOUNTS_MAX}`);
  spec.mounts.forEach(validateMount);
  validateMountTargets(spec.mounts);
  validateLabels(spec.labels);
  if (spec.stopGracePeriodMs !== undefined && spec.stopGracePeriodMs < 0)
    throw invalid(
      `the stop grace period ${spec.stopGracePeriodMs} ms is negative. Give 0 or more (--stop-grace-period 10s, --stop-timeout 10)`,
    );
  if (spec.stopSignal !== '') normalizeSignal(spec.stopSignal);
  if (spec.hostname.includes('{{'))
    throw invalid(
      `hostname "${spec.hostname}": Swarm's templates ({{.Node.Hostname}}, {{.Task.Slot}}, …) are not supported yet. Give a plain host name`,
    );
  if (spec.hostname !== '' && !HOSTNAME.test(spec.hostname))
    throw invalid(
      `invalid hostname "${spec.hostname}". Use at most 64 characters: letters, digits, '_' and '-', in labels separated by dots`,
    );
  if (spec.healthcheck) validateHealth(spec.healthcheck);
  validateDns(spec);
  spec.hosts.forEach(checkExtraHost);
  [...spec.capabilityAdd, ...spec.capabilityDrop].forEach(checkCapability);
  const sysctls = Object.entries(spec.sysctls);
  if (sysctls.length > LIST_ITEMS_MAX)
    throw invalid(`too many sysctls (${sysctls.length}). Give at most ${LIST_ITEMS_MAX}`);
  for (const [k, v] of sysctls) checkSysctl(k, v);
}
