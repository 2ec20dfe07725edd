import { InvalidArgumentError } from 'commander';
import { isAbsolute } from 'node:path';
import type { PublishedPort } from '../../gen/lite/tswarm/v1/engine.js';
import { MountType, PortProtocol, type Mount } from '../../gen/lite/tswarm/v1/objects.js';

/**
 * Pure parsers for the engine commands' flags, as Docker reads them. Each throws commander's
 * InvalidArgumentError, so a bad value is a usage error (exit 2) naming the flag's expected form.
 */

const bad = (message: string) => new InvalidArgumentError(message);

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "64m", "1g", "512k", "1024" (bytes), "1.5g": binary units, as Docker's RAMInBytes. */
export function parseSizeBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw bad(`invalid size "${value}". Use a number with an optional unit: b, k, m, g (e.g. 64m)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw bad(`size "${value}" is too large`);
  return bytes;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: "500ms", "30s", "1m30s", "2h". */
export function parseDurationMs(value: string): number {
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text))
    throw bad(`invalid duration "${value}". Use a number with a unit: ms, s, m or h (e.g. 30s, 1m30s)`);
  let totalMs = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    totalMs += Number(n) * DURATION_UNITS_MS[unit!]!;
  return Math.round(totalMs);
}

/** "--cpus 0.5" → 500,000,000 nano CPUs. */
export function parseNanoCpus(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || Number(value) <= 0)
    throw bad(`invalid --cpus "${value}". Give a positive number of CPUs, e.g. 0.5 or 2`);
  return Math.round(Number(value) * 1e9);
}

export function parseNonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value)))
      throw bad(`invalid ${flag} "${value}". Give a whole number, 0 or more`);
    return Number(value);
  };
}

function portNumber(text: string, what: string, allowZero: boolean): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535 || (!allowZero && n === 0))
    throw bad(`invalid ${what} "${text}". Use a number from ${allowZero ? 0 : 1} to 65535`);
  return n;
}

const PROTOCOLS: Record<string, PortProtocol> = {
  tcp: PortProtocol.PORT_PROTOCOL_TCP,
  udp: PortProtocol.PORT_PROTOCOL_UDP,
  sctp: PortProtocol.PORT_PROTOCOL_SCTP,
};

/** "-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]"; a missing host port means "any free one" (0). */
export function parsePort(value: string): PublishedPort {
  const [spec = '', proto = 'tcp', ...rest] = value.split('/');
  const protocol = PROTOCOLS[proto.toLowerCase()];
  if (protocol === undefined || rest.length > 0)
    throw bad(`invalid port "${value}". Use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80`);
  const parts = spec.split(':');
  if (parts.length > 3)
    throw bad(`invalid port "${value}". Use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80`);
  const containerPort = portNumber(parts[parts.length - 1] ?? '', 'container port', false);
  const hostText = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const hostPort = hostText === '' ? 0 : portNumber(hostText, 'host port', true);
  const hostIp = parts.length === 3 ? parts[0]! : '';
  return { hostPort, containerPort, protocol, hostIp };
}

/** "-v SRC:DST[:ro|rw]": an absolute SRC is a bind mount, a name a volume; "-v DST" alone an anonymous volume. */
export function parseVolume(value: string): Mount {
  const parts = value.split(':');
  const usage = `invalid volume "${value}". Use /host/path:/path[:ro], name:/path[:ro] or /path`;
  if (parts.length > 3 || parts.some((p) => p === '')) throw bad(usage);
  let readOnly = false;
  if (parts.length === 3) {
    const mode = parts.pop();
    if (mode !== 'ro' && mode !== 'rw') throw bad(`${usage} (mode "${mode}" is not ro or rw)`);
    readOnly = mode === 'ro';
  }
  const base = { tmpfsSizeBytes: 0, tmpfsMode: 0, volumeLabels: {}, readOnly };
  if (parts.length === 1) {
    if (!isAbsolute(parts[0]!)) throw bad(usage);
    return { ...base, type: MountType.MOUNT_TYPE_VOLUME, source: '', target: parts[0]! };
  }
  const [source, target] = parts as [string, string];
  if (!isAbsolute(target)) throw bad(`${usage} (the container path must be absolute)`);
  return {
    ...base,
    type: isAbsolute(source) ? MountType.MOUNT_TYPE_BIND : MountType.MOUNT_TYPE_VOLUME,
    source,
    target,
  };
}

/** "--tmpfs /run[:size=64m,mode=1777]". */
export function parseTmpfs(value: string): Mount {
  const [target = '', options = ''] = value.split(/:(.*)/s);
  if (!isAbsolute(target)) throw bad(`invalid --tmpfs "${value}". Use /path[:size=64m,mode=1777]`);
  const mount: Mount = {
    type: MountType.MOUNT_TYPE_TMPFS,
    source: '',
    target,
    readOnly: false,
    tmpfsSizeBytes: 0,
    tmpfsMode: 0,
    volumeLabels: {},
  };
  for (const opt of options.split(',').filter((o) => o !== '')) {
    const [k, v = ''] = opt.split('=');
    if (k === 'size') mount.tmpfsSizeBytes = parseSizeBytes(v);
    else if (k === 'mode' && /^[0-7]{3,4}$/.test(v)) mount.tmpfsMode = parseInt(v, 8);
    else throw bad(`invalid --tmpfs option "${opt}". Use size=SIZE or mode=OCTAL`);
  }
  return mount;
}

/** "-e K=V"; "-e K" takes K from the CLI's own environment (dropped when unset), as Docker does. */
export function parseEnv(value: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (value === '' || value.startsWith('=')) throw bad(`invalid environment variable "${value}". Use KEY=VALUE`);
  if (value.includes('=')) return value;
  const fromCli = env[value];
  return fromCli === undefined ? undefined : `${value}=${fromCli}`;
}

/** "--label K=V" (or "K", an empty value). */
export function parseLabel(value: string): [string, string] {
  const at = value.indexOf('=');
  const key = at === -1 ? value : value.slice(0, at);
  if (key === '') throw bad(`invalid label "${value}". Use KEY=VALUE`);
  return [key, at === -1 ? '' : value.slice(at + 1)];
}

/** Commander's accumulator for repeatable flags. */
/**
 * `--security-opt`: Docker's `no-new-privileges` (alone, or `:true` / `:false`; `=` works too).
 * Other options (seccomp=, apparmor=, label=) are not supported yet, and say so.
 */
export function parseSecurityOpt(value: string): { noNewPrivileges: boolean } {
  const match = /^no-new-privileges(?:[:=](true|false))?$/.exec(value.trim());
  if (!match) throw bad(`unsupported --security-opt "${value}". Only no-new-privileges[:true|false] is supported`);
  return { noNewPrivileges: match[1] !== 'false' };
}

export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}
