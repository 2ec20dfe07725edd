import { TswarmError } from '../../lib/errors.js';
import type { DockerService, DockerServiceSpec, DockerTask } from '../../lib/api-client/swarm-types.js';

/**
 * `--mode` of `service create`, as `docker service create` reads it, and how each mode shows in
 * `service ls` and in the progress display: a replicated service runs N tasks, a global one a task
 * per node, and jobs run their tasks to completion (`--replicas` completions, `--max-concurrent`
 * at a time, or once per node).
 */

export const SERVICE_MODES = ['replicated', 'global', 'replicated-job', 'global-job'] as const;
export type ServiceModeName = (typeof SERVICE_MODES)[number];

export interface ServiceModeFlags {
  mode?: ServiceModeName;
  replicas?: number;
  maxConcurrent?: number;
}

/** Docker's `Mode` from the flags; a flag that does not apply to the mode is an error, as docker's. */
export function serviceModeFromFlags(f: ServiceModeFlags): NonNullable<DockerServiceSpec['Mode']> {
  const mode = f.mode ?? 'replicated';
  if (f.maxConcurrent !== undefined && mode !== 'replicated-job')
    throw new TswarmError('USAGE', '--max-concurrent is for --mode replicated-job only');
  if (f.replicas !== undefined && (mode === 'global' || mode === 'global-job'))
    throw new TswarmError('USAGE', `--replicas cannot be used with --mode ${mode}: it runs one task per node`);
  switch (mode) {
    case 'replicated':
      return { Replicated: { Replicas: f.replicas ?? 1 } };
    case 'global':
      return { Global: {} };
    case 'global-job':
      return { GlobalJob: {} };
    case 'replicated-job': {
      const total = f.replicas ?? 1;
      // As docker: as many at a time as completions wanted, unless told otherwise.
      return { ReplicatedJob: { TotalCompletions: total, MaxConcurrent: f.maxConcurrent ?? total } };
    }
  }
}

/** `service ls`'s MODE, as docker writes it. */
export function modeText(s: DockerService): string {
  const m = s.Spec.Mode;
  if (m?.Global) return 'global';
  if (m?.ReplicatedJob) return 'replicated job';
  if (m?.GlobalJob) return 'global job';
  return 'replicated';
}

/** `service ls`'s REPLICAS: running/desired, and for a job how many of its completions are done. */
export function replicasText(s: DockerService): string {
  const running = s.ServiceStatus?.RunningTasks ?? 0;
  const desired = s.ServiceStatus?.DesiredTasks ?? s.Spec.Mode?.Replicated?.Replicas ?? 0;
  const completed = s.ServiceStatus?.CompletedTasks ?? 0;
  const job = s.Spec.Mode?.ReplicatedJob;
  if (job) return `${running}/${desired} (${completed}/${job.TotalCompletions} completed)`;
  if (s.Spec.Mode?.GlobalJob) return `${running}/${desired} (${completed}/${completed + desired} completed)`;
  return `${running}/${desired}`;
}

/** A task's line of progress: what it is doing now, and why it waits, in the scheduler's words. */
export function taskProgress(t: DockerTask | undefined): string {
  if (!t) return 'no task yet';
  const reason = t.Status.Err ? `: ${t.Status.Err}` : '';
  return `${t.Status.State}${reason}`;
}

/** The newest task of each key (slot, or node), of the tasks given. */
function newestBy(tasks: readonly DockerTask[], key: (t: DockerTask) => string): Map<string, DockerTask> {
  const newest = new Map<string, DockerTask>();
  for (const t of tasks) {
    const k = key(t);
    const seen = newest.get(k);
    if (!seen || Date.parse(t.CreatedAt) > Date.parse(seen.CreatedAt)) newest.set(k, t);
  }
  return newest;
}

export interface Progress {
  lines: string[];
  converged: boolean;
}

/**
 * What `create` and `scale` show while a replicated service converges, as docker does ("overall
 * progress: 2 out of 3 tasks", a line per slot, "verify: Service converged"). Honest about each
 * slot: a task assigned to a node but not yet running says "assigned"; one that fits nowhere says
 * why. `tasks` are those meant to run.
 */
export function progressLines(desired: number, tasks: readonly DockerTask[]): Progress {
  const bySlot = newestBy(tasks, (t) => String(t.Slot ?? 0));
  const running = [...bySlot.values()].filter((t) => t.Status.State === 'running').length;
  const lines = [`overall progress: ${running} out of ${desired} tasks`];
  for (let slot = 1; slot <= desired; slot++)
    lines.push(`${slot}/${desired}: ${taskProgress(bySlot.get(String(slot)))}`);
  const converged = running === desired && bySlot.size === desired;
  if (converged) lines.push('verify: Service converged');
  return { lines, converged };
}

/** A global service: a task per node it chose; converged when each runs. `tasks` are those meant to run. */
function globalProgress(tasks: readonly DockerTask[], hostOf: (nodeId: string) => string): Progress {
  const byNode = newestBy(tasks, (t) => t.NodeID ?? '');
  const running = [...byNode.values()].filter((t) => t.Status.State === 'running').length;
  if (byNode.size === 0) return { lines: ['overall progress: waiting for new tasks'], converged: false };
  const lines = [`overall progress: ${running} out of ${byNode.size} tasks`];
  for (const [nodeId, t] of [...byNode].sort(([a], [b]) => hostOf(a).localeCompare(hostOf(b))))
    lines.push(`${hostOf(nodeId)}: ${taskProgress(t)}`);
  const converged = running === byNode.size;
  if (converged) lines.push('verify: Service converged');
  return { lines, converged };
}

/** A job: done when every completion wanted has completed (this run's tasks only). */
function jobProgress(service: DockerService, tasks: readonly DockerTask[], hostOf: (n: string) => string): Progress {
  const run = service.JobStatus?.JobIteration.Index;
  const current = tasks.filter((t) => run === undefined || t.JobIteration?.Index === run);
  const replicated = service.Spec.Mode?.ReplicatedJob;
  const byKey = newestBy(current, (t) => (replicated ? String(t.Slot ?? 0) : (t.NodeID ?? '')));
  const total = replicated ? replicated.TotalCompletions : byKey.size;
  const completed = [...byKey.values()].filter((t) => t.Status.State === 'complete').length;
  const lines = [`job progress: ${completed} out of ${total} complete`];
  for (const [key, t] of [...byKey].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })))
    lines.push(`${replicated ? `${Number(key) + 1}/${total}` : hostOf(key)}: ${taskProgress(t)}`);
  const converged = total > 0 && completed === total;
  if (converged) lines.push('job complete');
  return { lines, converged };
}

/**
 * The progress of any mode. `meantToRun` are the tasks desired running; `all` every task of the
 * service (a job's tasks are desired to complete, and a completed one counts).
 */
export function serviceProgress(
  service: DockerService,
  meantToRun: readonly DockerTask[],
  all: readonly DockerTask[],
  hostOf: (nodeId: string) => string,
): Progress {
  const mode = service.Spec.Mode;
  if (mode?.ReplicatedJob || mode?.GlobalJob) return jobProgress(service, all, hostOf);
  if (mode?.Global) return globalProgress(meantToRun, hostOf);
  return progressLines(mode?.Replicated?.Replicas ?? 0, meantToRun);
}
