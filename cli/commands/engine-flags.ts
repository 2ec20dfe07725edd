import { InvalidArgumentError } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import * as specs from '../../lib/mount-specs.js';

/**
 * Pure parsers for the engine commands' flags, as Docker reads them. Each throws commander's
 * InvalidArgumentError, so a bad value is a usage error (exit 2) naming the flag's expected form.
 */

const bad = (message: string) => new InvalidArgumentError(message);

/** The notations the daemon reads too live in lib/mount-specs.ts; on the command line their errors are usage errors. */
function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'INVALID_ARGUMENT') throw bad(err.message);
    throw err;
  }
}

/** "64m", "1g", "512k", "1024" (bytes), "1.5g": binary units, as Docker's RAMInBytes. */
export function parseSizeBytes(value: string): number {
  return asUsageError(() => specs.parseSizeBytes(value));
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Go durations, as Docker's flags read them: "500ms", "30s", "1m30s", "2h", "0"; rounded to whole ms. */
export function parseDurationMs(value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  if (!DURATION.test(text))
    throw bad(`invalid duration "${value}". Use a number with a unit: ms, s, m or h (e.g. 30s, 1m30s)`);
  let totalMs = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    totalMs += Number(n) * DURATION_UNITS_MS[unit!]!;
  if (!Number.isSafeInteger(Math.round(totalMs))) throw bad(`duration "${value}" is too long`);
  // tswarm keeps durations in whole milliseconds: a shorter one would silently become 0 or 1 ms.
  if (totalMs > 0 && totalMs < 1)
    throw bad(`duration "${value}" is below 1ms, the shortest tswarm keeps. Give 0 or 1ms or more`);
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

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** A published port as Docker's create body carries it: the container port ("80/tcp") and one host binding. */
export interface PortFlag {
  port: string;
  binding: { HostIp: string; HostPort: string };
}

/** "-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]"; a missing host port ("") means "any free one". */
export function parsePort(value: string): PortFlag {
  const usage = `invalid port "${value}". Use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80`;
  const [spec = '', proto = 'tcp', ...rest] = value.split('/');
  const protocol = proto.toLowerCase();
  if (!PROTOCOLS.includes(protocol) || rest.length > 0) throw bad(usage);
  const parts = spec.split(':');
  if (parts.length > 3) throw bad(usage);
  const containerPort = portNumber(parts[parts.length - 1] ?? '', 'container port', false);
  const hostText = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const hostPort = hostText === '' ? '' : String(portNumber(hostText, 'host port', true));
  const hostIp = parts.length === 3 ? parts[0]! : '';
  return { port: `${containerPort}/${protocol}`, binding: { HostIp: hostIp, HostPort: hostPort } };
}

/**
 * A `-v` flag as `docker run` sends it: "SRC:DST[:MODE]" as a HostConfig.Binds entry, a lone
 * path as a Config.Volumes key (an anonymous volume).
 */
export type VolumeFlag = { bind: string } | { anonymous: string };

export function parseVolume(value: string): VolumeFlag {
  const spec = asUsageError(() => specs.volumeSpec(value));
  return spec.source === '' ? { anonymous: spec.target } : { bind: value };
}

/** A `--tmpfs` flag as a HostConfig.Tmpfs entry: the path and its options, checked here, passed on as given. */
export function parseTmpfs(value: string): [string, string] {
  const { target } = asUsageError(() => specs.tmpfsSpec(value, '--tmpfs'));
  return [target, value.slice(target.length + 1)];
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

/**
 * `--security-opt`: Docker's `no-new-privileges` (alone, or `:true` / `:false`; `=` works too),
 * passed on as given (the last one wins). Other options (seccomp=, apparmor=, label=) are not
 * supported yet, and say so.
 */
export function parseSecurityOpt(value: string): string {
  const opt = value.trim();
  if (!/^no-new-privileges(?:[:=](true|false))?$/.test(opt))
    throw bad(`unsupported --security-opt "${value}". Only no-new-privileges[:true|false] is supported`);
  return opt;
}

/** Commander's accumulator for repeatable flags. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}
