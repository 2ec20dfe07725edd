import { AssignmentsType, type AssignmentsResponse } from '../../gen/tswarm/v1/dispatcher.js';
import { Task, TaskState } from '../../gen/tswarm/v1/objects.js';
import type { ChangeEvent } from '../store/watch.js';

/**
 * Changes per INCREMENTAL message: a transaction that touches thousands of a node's tasks goes out
 * as several messages rather than one that a worker must hold whole (a COMPLETE set is one message,
 * bounded by what one node runs).
 */
export const ASSIGNMENT_CHANGES_PER_MESSAGE_MAX = 256;

/**
 * Only tasks the scheduler ASSIGNED to the node are its to run (SwarmKit's rule): a global
 * service's task names its node from birth, but goes there once the scheduler found room for it.
 */
export function isAssignedTo(task: Task, nodeId: string): boolean {
  return task.nodeId === nodeId && (task.status?.state ?? TaskState.TASK_STATE_NEW) >= TaskState.TASK_STATE_ASSIGNED;
}

/**
 * A task's form without its status and version: a worker needs a new copy when what it must do
 * changes (spec, desired state), not when the status it reported itself comes back from the store
 * (SwarmKit's TasksEqualStable). Without this, every status write echoed back as an assignment.
 */
function stableForm(task: Task): string {
  return JSON.stringify(Task.toJSON({ ...task, status: undefined, meta: undefined }));
}

/**
 * What one assignments stream has told its worker, and the messages that bring it up to date.
 * Pure: the stream feeds it the store's tasks and change events and sends what it returns.
 * Invariant: `sent` holds exactly the tasks the worker was last told to hold, by ID.
 */
export class AssignmentSet {
  private sent = new Map<string, string>();
  private sequence = 0;

  constructor(private readonly nodeId: string) {}

  /** The whole set the node must run; the worker drops anything not in it. */
  complete(tasks: readonly Task[]): AssignmentsResponse {
    const assigned = tasks.filter((t) => isAssignedTo(t, this.nodeId));
    this.sent = new Map(assigned.map((t) => [t.id, stableForm(t)]));
    return {
      type: AssignmentsType.ASSIGNMENTS_TYPE_COMPLETE,
      sequence: ++this.sequence,
      updatedTasks: assigned,
      removedTaskIds: [],
    };
  }

  /** The INCREMENTAL messages for these store changes (none when nothing the worker holds changed). */
  changes(events: readonly ChangeEvent[]): AssignmentsResponse[] {
    // The last event of a task wins: a task created and updated in one batch goes out once.
    const latest = new Map<string, ChangeEvent>();
    for (const e of events) if (e.kind === 'task') latest.set(e.object.id, e);
    const updated: Task[] = [];
    const removed: string[] = [];
    for (const [id, e] of latest) {
      const task = e.object as Task;
      if (e.action === 'remove' || !isAssignedTo(task, this.nodeId)) {
        if (this.sent.delete(id)) removed.push(id);
        continue;
      }
      const form = stableForm(task);
      if (this.sent.get(id) === form) continue;
      this.sent.set(id, form);
      updated.push(task);
    }
    const out: AssignmentsResponse[] = [];
    const max = ASSIGNMENT_CHANGES_PER_MESSAGE_MAX;
    for (let i = 0; i < updated.length; i += max) out.push(this.incremental(updated.slice(i, i + max), []));
    for (let i = 0; i < removed.length; i += max) out.push(this.incremental([], removed.slice(i, i + max)));
    return out;
  }

  private incremental(updatedTasks: Task[], removedTaskIds: string[]): AssignmentsResponse {
    return {
      type: AssignmentsType.ASSIGNMENTS_TYPE_INCREMENTAL,
      sequence: ++this.sequence,
      updatedTasks,
      removedTaskIds,
    };
  }
}
