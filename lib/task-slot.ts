import type { Task } from '../gen/tswarm/v1/objects.js';

/**
 * The slot number Docker shows for a task. tswarm numbers every replicated slot from 1 (slot 0
 * means "no slot": a global service's task, named by its node); SwarmKit numbers a replicated
 * job's completions from 0, and the docker CLI's job progress counts on it, so a job task's slot
 * is shown one lower. Used wherever a slot meets a user: the Engine API, container names.
 */
export function dockerSlot(task: Pick<Task, 'slot' | 'jobIteration'>): number {
  return task.jobIteration !== undefined && task.slot > 0 ? task.slot - 1 : task.slot;
}
