import type { Clock, Timer } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { TaskState, type TaskStatus } from '../../gen/tswarm/v1/objects.js';
import type { TaskStatusUpdate } from '../../gen/tswarm/v1/dispatcher.js';
import type { Store } from '../store/store.js';

/** Task updates in one store transaction: a busy cluster's reports go to Raft as few entries, each bounded. */
export const STATUS_BATCH_SIZE_MAX = 500;
/**
 * How long a status waits for others to share its transaction when none is being written. Most of
 * the batching comes from the write itself: statuses that arrive while one is in Raft wait for it
 * and go together in the next (one flush at a time), so a burst of 60 starts is still a few
 * entries. The wait only gathers what arrives together; every millisecond of it is a millisecond
 * before `service ps` (and `service create`'s progress) shows a task running — it was 50.
 */
export const STATUS_FLUSH_INTERVAL_MS = 10;
/** Updates one UpdateTaskStatus call may carry (the agent sends at most its batch size). */
export const STATUS_UPDATES_PER_CALL_MAX = 1_000;
/** Tasks with a status waiting to be written; beyond it callers are told to retry (they do). */
export const STATUS_PENDING_MAX = 20_000;
/** A status's message or error text, in characters: enough for a registry's answer, not a log. */
export const STATUS_TEXT_LENGTH_MAX = 4_096;

/** States a worker may report: from ACCEPTED on (the ones before belong to the managers). */
const WORKER_STATES_MIN = TaskState.TASK_STATE_ACCEPTED;
const WORKER_STATES_MAX = TaskState.TASK_STATE_ORPHANED;

/** Refuses what no honest agent sends, naming the field; the caller's node is checked by the dispatcher. */
export function checkStatusUpdates(updates: readonly TaskStatusUpdate[]): void {
  if (updates.length > STATUS_UPDATES_PER_CALL_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `an UpdateTaskStatus call carries at most ${STATUS_UPDATES_PER_CALL_MAX} updates, not ${updates.length}. Send them in batches`,
    );
  for (const u of updates) {
    const s = u.status;
    if (!u.taskId || !s) throw new TswarmError('INVALID_ARGUMENT', 'a task status update names no task or no status');
    if (s.state < WORKER_STATES_MIN || s.state > WORKER_STATES_MAX)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `task ${u.taskId}: a worker cannot report state ${TaskState[s.state] ?? s.state}`,
      );
    for (const [field, text] of [
      ['message', s.message],
      ['err', s.err],
      ['container_status.health', s.containerStatus?.health ?? ''],
    ] as const) {
      if (text.length > STATUS_TEXT_LENGTH_MAX)
        throw new TswarmError(
          'INVALID_ARGUMENT',
          `task ${u.taskId}: status.${field} is ${text.length} characters, more than ${STATUS_TEXT_LENGTH_MAX}`,
        );
    }
  }
}

interface Pending {
  status: TaskStatus;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Task statuses from workers, written to the store in batches: at most STATUS_BATCH_SIZE_MAX tasks
 * per transaction, flushed STATUS_FLUSH_INTERVAL_MS after the first waiting one. A task's newer
 * status replaces a waiting older one; a status that does not move the task forward (its state
 * at or before the stored one) is dropped, because a task never moves backwards. `add` settles when
 * the statuses it carried are committed (or dropped), so a worker knows what is durable.
 */
export class StatusIntake {
  private pending = new Map<string, Pending>();
  private timer: Timer | undefined;
  private flushing = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  add(updates: readonly TaskStatusUpdate[]): Promise<void> {
    if (this.pending.size + updates.length > STATUS_PENDING_MAX)
      return Promise.reject(
        new TswarmError('RESOURCE_EXHAUSTED', `${this.pending.size} task statuses wait to be written. Retry shortly`),
      );
    const done = updates.map(
      (u) =>
        new Promise<void>((resolve, reject) => {
          const entry = this.pending.get(u.taskId) ?? { status: u.status!, waiters: [] };
          if (u.status!.state >= entry.status.state) entry.status = u.status!;
          entry.waiters.push({ resolve, reject });
          this.pending.set(u.taskId, entry);
        }),
    );
    this.schedule();
    return Promise.all(done).then(() => undefined);
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.pending.size === 0) return;
    this.timer = this.clock.setTimer(STATUS_FLUSH_INTERVAL_MS, () => {
      this.timer = undefined;
      void this.flush();
    });
  }

  /** Writes one batch; then the next is scheduled if more wait. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    const batch = [...this.pending].slice(0, STATUS_BATCH_SIZE_MAX);
    for (const [id] of batch) this.pending.delete(id);
    try {
      await this.write(batch.map(([id, p]) => [id, p.status] as const));
      for (const [, p] of batch) for (const w of p.waiters) w.resolve();
    } catch (err) {
      this.log.warn({ tasks: batch.length, err: (err as Error).message }, 'task statuses not written');
      for (const [, p] of batch) for (const w of p.waiters) w.reject(err);
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  /**
   * One transaction for the batch. A conflict with another writer (orchestrator, reaper) is
   * rebuilt by Store.update from the replica, within its bound (UPDATE_CONFLICT_ATTEMPTS_MAX).
   */
  private async write(statuses: readonly (readonly [string, TaskStatus])[]): Promise<void> {
    await this.store.update((tx, s) => {
      for (const [id, status] of statuses) {
        const task = s.get('task', id);
        // Gone (removed meanwhile) or not forward: nothing to write, and nothing wrong.
        if (!task || status.state <= (task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)) continue;
        // The history is the store's, one entry per state entered (states only move forward, so
        // it stays short); whatever history a worker sends is not believed.
        const history = [...(task.status?.history ?? []), { state: status.state, atMs: status.timestampMs }];
        tx.update('task', { ...task, status: { ...status, history } });
      }
    });
  }

  /** Leadership lost: what waits is refused (the workers send it again to the new leader). */
  abandon(reason: TswarmError): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const p of this.pending.values()) for (const w of p.waiters) w.reject(reason);
    this.pending.clear();
  }
}
