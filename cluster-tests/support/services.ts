import type { Lab } from '../../lab/lab.js';
import { apiGet } from './attack.js';
import { docker } from './docker.js';

/** A task as the Engine API shows it (`GET /tasks`), the fields the service tests read. */
export interface TaskShape {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string };
}

/**
 * A task container's command that stops at once on SIGTERM: busybox `sleep` as PID 1 ignores it,
 * so every scale-down would wait out the 10 s grace period before the kill.
 */
export const STOPS_ON_TERM = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

/** Every task of `serviceId`, in any state, read through `host`'s Engine API. */
export async function serviceTasks(lab: Lab, host: string, serviceId: string): Promise<TaskShape[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId] }));
  return apiGet<TaskShape[]>(lab, host, `/tasks?filters=${filters}`);
}

/** The tasks meant to run that their node reports running. */
export function runningTasks(tasks: readonly TaskShape[]): TaskShape[] {
  return tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
}

/**
 * The task IDs of `serviceId` whose containers run on `host`, as the real docker CLI lists them
 * there (by the labels every task container carries): what really runs, not what the store says.
 */
export async function runningTaskContainers(lab: Lab, host: string, serviceId: string): Promise<string[]> {
  const r = await docker(lab, host, [
    'ps',
    '--filter',
    `label=com.docker.swarm.service.id=${serviceId}`,
    '--filter',
    'status=running',
    '--format',
    '{{.Label "com.docker.swarm.task.id"}}',
  ]);
  if (r.code !== 0) throw new Error(`docker ps on ${host}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** How many of `items` fall on each key (a node, a host, a slot). */
export function countBy<T>(items: readonly T[], key: (item: T) => string | number): Map<string | number, number> {
  const counts = new Map<string | number, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * Slots with more than one task meant to run — or, with `reported`, also one whose node last
 * reported it running: while a node is down or cut off its tasks' last reports stand (nobody can
 * say otherwise); once it is back, each must have moved on.
 */
export function doubledSlots(tasks: readonly TaskShape[], reported = false): number[] {
  const live = tasks.filter((t) => t.DesiredState === 'running' || (reported && t.Status.State === 'running'));
  return [...countBy(live, (t) => t.Slot ?? 0)].filter(([, n]) => n > 1).map(([slot]) => Number(slot));
}
