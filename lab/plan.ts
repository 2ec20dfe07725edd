import { TswarmError } from '../lib/errors.js';

/**
 * The lab's layout as pure data: which hosts exist, their addresses (docs/architecture.md, "Address plan") and how
 * a partition splits them. No I/O here, so every rule is unit-tested directly.
 */
export type HostRole = 'manager' | 'worker';

export interface HostPlan {
  name: string;
  role: HostRole;
  addr: string;
}

export const UNDERLAY_PREFIX = '192.168.77';
export const UNDERLAY_PREFIX_LENGTH = 24;
/** m1…m9 are .11–.19 and w1…w9 .21–.29, so nine of each fit the address plan. */
export const MANAGERS_MAX = 9;
export const WORKERS_MAX = 9;
export const DEFAULT_LAB_NAME = 'lab';
/** Lab names become part of namespace names and interface-free paths; short and plain keeps them valid. */
const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,9}$/;

export function validateLabName(name: string): string {
  if (!LAB_NAME_PATTERN.test(name)) {
    throw new TswarmError(
      'USAGE',
      `invalid lab name "${name}". Use 1 to 10 lower-case letters and digits, starting with a letter`,
    );
  }
  return name;
}

export function planHosts(managers: number, workers: number): HostPlan[] {
  const check = (what: string, n: number, max: number) => {
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new TswarmError('USAGE', `invalid --${what} ${n}. Use a whole number from 0 to ${max}`);
    }
  };
  check('managers', managers, MANAGERS_MAX);
  check('workers', workers, WORKERS_MAX);
  if (managers + workers === 0)
    throw new TswarmError('USAGE', 'a lab needs at least one host. Use --managers or --workers');
  const hosts: HostPlan[] = [];
  for (let i = 1; i <= managers; i++)
    hosts.push({ name: `m${i}`, role: 'manager', addr: `${UNDERLAY_PREFIX}.${10 + i}` });
  for (let i = 1; i <= workers; i++)
    hosts.push({ name: `w${i}`, role: 'worker', addr: `${UNDERLAY_PREFIX}.${20 + i}` });
  return hosts;
}

/**
 * `lab partition A,B C,D,E` → groups that can reach only their own members. Hosts named in no
 * group form one more group together, so `lab partition m1` cuts m1 off from all the rest.
 */
export function partitionGroups(hostNames: readonly string[], groupArgs: readonly string[]): string[][] {
  if (groupArgs.length === 0)
    throw new TswarmError(
      'USAGE',
      'name at least one group of hosts, e.g. `tswarm lab partition m1` or `tswarm lab partition m1,m2 m3,w1`',
    );
  const known = new Set(hostNames);
  const seen = new Set<string>();
  const groups = groupArgs.map((arg) => {
    const members = arg
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    if (members.length === 0)
      throw new TswarmError('USAGE', `empty group "${arg}". Separate hosts with commas and groups with spaces`);
    for (const host of members) {
      if (!known.has(host))
        throw new TswarmError(
          'USAGE',
          `unknown host "${host}" in partition. The lab's hosts are: ${hostNames.join(', ')}`,
        );
      if (seen.has(host))
        throw new TswarmError('USAGE', `host "${host}" is named in two groups. Each host belongs to one group`);
      seen.add(host);
    }
    return members;
  });
  const rest = hostNames.filter((h) => !seen.has(h));
  if (rest.length > 0) groups.push(rest);
  return groups;
}

/** True when `a` and `b` are in the same group (or no partition is in force). */
export function canReach(groups: readonly (readonly string[])[] | null, a: string, b: string): boolean {
  if (!groups) return true;
  return groups.some((g) => g.includes(a) && g.includes(b));
}

/**
 * Engine labels per host (`tswarmd --label K=V` on that host only), e.g. `{ w1: { disk: 'ssd' } }`,
 * so a lab can hold nodes that placement constraints on `engine.labels.*` tell apart. Checked
 * here, before anything is made: every host must be one of the lab's, every key non-empty (the
 * daemon checks the rest of a label's form when it starts).
 */
export type HostEngineLabels = Readonly<Record<string, Readonly<Record<string, string>>>>;

export function checkHostEngineLabels(hostNames: readonly string[], labels: HostEngineLabels): void {
  for (const [host, byKey] of Object.entries(labels)) {
    if (!hostNames.includes(host))
      throw new TswarmError(
        'USAGE',
        `engine labels for unknown host "${host}". The lab's hosts are: ${hostNames.join(', ')}`,
      );
    for (const key of Object.keys(byKey))
      if (key.trim() === '')
        throw new TswarmError('USAGE', `an engine label of host ${host} has an empty key. Use KEY=VALUE`);
  }
}

/** The daemon flags for a host's engine labels, in a stable order. */
export function engineLabelArgs(labels: Readonly<Record<string, string>> = {}): string[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

/** `lab up --engine-label w1:disk=ssd`: the host, then one KEY=VALUE. */
export function parseHostEngineLabel(text: string): { host: string; key: string; value: string } {
  const m = /^([^:=]+):([^=]+)=(.*)$/.exec(text);
  if (!m) throw new TswarmError('USAGE', `invalid engine label "${text}". Use HOST:KEY=VALUE, e.g. w1:disk=ssd`);
  return { host: m[1]!, key: m[2]!, value: m[3]! };
}
