import { isAbsolute } from 'node:path';
import { TswarmError } from '../../lib/errors.js';
import type { ContainerConfig, PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { LABEL_ANONYMOUS_VOLUME } from '../volume-contract.js';
import {
  MountType,
  type ContainerSpec,
  type HealthConfig,
  type Mount,
  type Resources,
} from '../../gen/tswarm/v1/objects.js';

/**
 * Checks on what callers of the engine API send, before anything is touched: every list and
 * string has a bound, and each refusal says what to send instead.
 */

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

/** Image references and IDs are short; 512 leaves room for long registry paths. */
export const REFERENCE_CHARS_MAX = 512;
const NAME_CHARS_MAX = 128;
const LIST_ITEMS_MAX = 1_000;
/** The whole command line plus environment; Linux's own ARG_MAX is 2 MiB. */
const ARGV_ENV_BYTES_MAX = 1024 * 1024;
const PORTS_MAX = 1_000;
export const MOUNTS_MAX = 256;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Docker's rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ENGINE_LABEL_PREFIX = 'tswarm.engine.';
/** sethostname(2) takes at most 64 bytes; each dot-separated label is a DNS label (RFC 1123). */
const HOSTNAME =
  /^(?=.{1,64}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*$/;
/** Docker's floor: below it the kernel's own use of the cgroup leaves the process no room. */
export const MEMORY_BYTES_MIN = 6 * 1024 * 1024;
/** Docker's smallest CPU limit, 0.01 CPUs; the cgroup's quota is 1 ms per 100 ms period then. */
export const NANO_CPUS_MIN = 10_000_000;
/** A health check timing, when given, is at least this (Docker's rule). */
const HEALTH_TIMING_MS_MIN = 1;

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

function validatePort(p: PublishedPort): void {
  if (p.containerPort < 1 || p.containerPort > 65535)
    throw invalid(`container port ${p.containerPort} is out of range. Use 1-65535`);
  if (p.hostPort > 65535) throw invalid(`host port ${p.hostPort} is out of range. Use 0-65535 (0 picks a free one)`);
}

function validateMount(m: Mount): void {
  // The engine marks the volumes it names itself; a client's mark would make rm -v delete a named volume.
  if (LABEL_ANONYMOUS_VOLUME in m.volumeLabels)
    throw invalid(
      `volume label "${LABEL_ANONYMOUS_VOLUME}" is the engine's. Leave it out; a volume with no name is anonymous`,
    );
  if (!isAbsolute(m.target))
    throw invalid(`mount target "${m.target}" is not an absolute path. Give a path such as /data`);
  // An empty volume source is an anonymous volume: the engine names it.
  if (m.type === MountType.MOUNT_TYPE_VOLUME) validateVolumeName(m.source, true);
  else if (m.type === MountType.MOUNT_TYPE_BIND && !isAbsolute(m.source))
    throw invalid(`bind mount source "${m.source}" is not an absolute path. Give a host path such as /srv/data`);
  else if (m.type === MountType.MOUNT_TYPE_UNSPECIFIED)
    throw invalid(`mount ${m.target} has no type. Use bind, volume or tmpfs`);
  if (m.tmpfsSizeBytes < 0) throw invalid(`tmpfs size for ${m.target} is negative. Give a size such as 64m`);
}

function validateHealth(h: HealthConfig): void {
  if (h.test.length > LIST_ITEMS_MAX)
    throw invalid(`the health check has too many words (${h.test.length}). Give at most ${LIST_ITEMS_MAX}`);
  const timings = { interval: h.intervalMs, timeout: h.timeoutMs, 'start period': h.startPeriodMs };
  for (const [what, ms] of Object.entries(timings)) {
    if (ms !== 0 && ms < HEALTH_TIMING_MS_MIN)
      throw invalid(
        `the health check ${what} ${ms} ms is out of range. Give 0 (the default) or at least ${HEALTH_TIMING_MS_MIN} ms`,
      );
  }
}

function validateSpec(spec: ContainerSpec): void {
  requireText('the image reference', spec.image);
  const lists = {
    command: spec.command,
    args: spec.args,
    env: spec.env,
    hosts: spec.hosts,
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
  if (spec.mounts.length > MOUNTS_MAX)
    throw invalid(`too many mounts (${spec.mounts.length}). Give at most ${MOUNTS_MAX}`);
  spec.mounts.forEach(validateMount);
  validateLabels(spec.labels);
  if (spec.stopGracePeriodMs !== undefined && spec.stopGracePeriodMs < 0)
    throw invalid('the stop timeout is negative. Give 0 or more seconds');
  if (spec.hostname !== '' && !HOSTNAME.test(spec.hostname))
    throw invalid(
      `invalid hostname "${spec.hostname}". Use at most 64 characters: letters, digits, '_' and '-', in labels separated by dots`,
    );
  if (spec.healthcheck) validateHealth(spec.healthcheck);
  validateDns(spec);
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

/** What the kernel and Docker accept, so a bad limit is refused here and not deep in crun (as a 126). */
function validateLimits(limits: Resources, cpusOnHost: number): void {
  if (limits.nanoCpus < 0 || limits.memoryBytes < 0 || limits.pids < 0)
    throw invalid('a resource limit is negative. Give 0 (no limit) or more');
  if (limits.memoryBytes > 0 && limits.memoryBytes < MEMORY_BYTES_MIN)
    throw invalid(`memory limit ${limits.memoryBytes} bytes is below the minimum of 6 MiB. Give 6m or more`);
  if (limits.nanoCpus > 0 && (limits.nanoCpus < NANO_CPUS_MIN || limits.nanoCpus > cpusOnHost * 1e9)) {
    throw invalid(
      `CPU limit ${(limits.nanoCpus / 1e9).toFixed(3)} is out of range. Give 0.01 to ${cpusOnHost}, the CPUs this node has`,
    );
  }
}

export function validateContainerConfig(config: ContainerConfig, cpusOnHost = availableParallelism()): void {
  if (config.name !== '' && (config.name.length > NAME_CHARS_MAX || !CONTAINER_NAME.test(config.name))) {
    throw invalid(
      `invalid container name "${config.name}". Use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if (!config.spec) throw invalid('the container config has no spec. Give at least an image');
  validateSpec(config.spec);
  if (config.ports.length > PORTS_MAX)
    throw invalid(`too many published ports (${config.ports.length}). Give at most ${PORTS_MAX}`);
  config.ports.forEach(validatePort);
  const limits = config.resources?.limits;
  if (limits) validateLimits(limits, cpusOnHost);
  if (config.networkMode.length > NAME_CHARS_MAX)
    throw invalid('the network name is too long. Use bridge, host or none');
}
