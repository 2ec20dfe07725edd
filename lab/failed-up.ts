import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { logTail } from './processes.js';
import type { LabState } from './state.js';

/** Lines of each not-Ready host's daemon log put in the error: enough to show its last attempts. */
export const FAILED_LOG_TAIL_LINES = 30;

/** A node as `tswarm node ls --format json` prints it: only the fields the report reads. */
export interface NodeRow {
  hostname: string;
  status: string;
  statusMessage?: string;
  role?: string;
  managerStatus?: string;
}

export interface NotReadyHost {
  host: string;
  /** What `node ls` says of it: its status, or that the swarm has no node by that hostname. */
  why: string;
}

/**
 * The lab hosts that are not a Ready node of the swarm, as a manager's `node ls` shows it. With
 * no `node ls` (no manager answered), every host is suspect and each is listed with that reason.
 */
export function notReadyHosts(hosts: readonly string[], nodes: readonly NodeRow[] | undefined): NotReadyHost[] {
  if (!nodes) return hosts.map((host) => ({ host, why: 'no manager answered node ls' }));
  const out: NotReadyHost[] = [];
  for (const host of hosts) {
    const mine = nodes.filter((n) => n.hostname === host);
    const ready = mine.find((n) => n.status === 'Ready');
    if (ready) continue;
    if (mine.length === 0) out.push({ host, why: 'not a node of the swarm' });
    else
      out.push({
        host,
        why: mine.map((n) => `status ${n.status}${n.statusMessage ? ` (${n.statusMessage})` : ''}`).join(', '),
      });
  }
  return out;
}

/** `node ls` as a small table for the error message: one line per node. */
export function formatNodeLs(nodes: readonly NodeRow[]): string {
  if (nodes.length === 0) return '  (no nodes)';
  return nodes
    .map(
      (n) =>
        `  ${n.hostname}  ${n.status}${n.statusMessage ? ` (${n.statusMessage})` : ''}  ${n.role ?? ''}${n.managerStatus ? ` ${n.managerStatus}` : ''}`,
    )
    .join('\n');
}

export interface FailedUpReport {
  /** Where the daemons' logs were copied: it survives the teardown. */
  keptDir: string;
  /** Which manager's `node ls` was read, and its rows; undefined when none answered or the swarm step was not reached. */
  nodeLs?: { host: string; nodes: NodeRow[] };
  notReady: NotReadyHost[];
  /** The tail of each not-Ready host's log, by host. */
  tails: Record<string, string>;
}

export function formatFailedUp(report: FailedUpReport): string {
  const lines = [`The daemons' logs of this attempt were kept in ${report.keptDir}`];
  if (report.nodeLs) lines.push(`node ls on ${report.nodeLs.host}:`, formatNodeLs(report.nodeLs.nodes));
  if (report.notReady.length > 0)
    lines.push(`Not Ready: ${report.notReady.map((h) => `${h.host} (${h.why})`).join(', ')}`);
  for (const h of report.notReady) {
    lines.push(
      `--- last ${FAILED_LOG_TAIL_LINES} lines of ${h.host}'s log (${join(report.keptDir, `${h.host}.log`)}):`,
    );
    lines.push(report.tails[h.host] ?? '(no log)');
  }
  lines.push(`(The kept logs stay until you remove ${report.keptDir}.)`);
  return lines.join('\n');
}

/** A directory for a failed attempt's logs, outside the lab directory that the teardown removes. */
export function failedLogsDir(lab: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  return join(tmpdir(), `tswarm-lab-failed-${lab}-${stamp}`);
}

/**
 * Copies every host's daemon log (and the registry's, when there is one) out of the lab
 * directory, plus the error, so a rare failure can be read after the teardown. Missing logs are
 * skipped: a lab can fail before a daemon started.
 */
export async function keepLabLogs(state: LabState, error: string, nowMs = Date.now()): Promise<string> {
  const dir = failedLogsDir(state.name, nowMs);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const copies = state.hosts.map((h) => copyFile(h.logFile, join(dir, `${h.name}.log`)).catch(() => undefined));
  const reg = state.registry;
  if (reg) copies.push(copyFile(reg.logFile, join(dir, `${reg.name}-${basename(reg.logFile)}`)).catch(() => undefined));
  await Promise.all(copies);
  await writeFile(join(dir, 'error.txt'), `${error}\n`);
  return dir;
}

/** The report for a failed `lab up`, from the kept logs and what `node ls` said. */
export function failedUpReport(
  state: LabState,
  keptDir: string,
  nodeLs: { host: string; nodes: NodeRow[] } | undefined,
  suspects?: readonly string[],
): FailedUpReport {
  const hostNames = state.hosts.map((h) => h.name);
  const notReady = suspects
    ? suspects.map((host) => ({ host, why: 'its daemon did not answer' }))
    : notReadyHosts(hostNames, nodeLs?.nodes);
  const tails: Record<string, string> = {};
  for (const h of notReady) tails[h.host] = logTail(join(keptDir, `${h.host}.log`), FAILED_LOG_TAIL_LINES);
  return { keptDir, ...(nodeLs ? { nodeLs } : {}), notReady, tails };
}
