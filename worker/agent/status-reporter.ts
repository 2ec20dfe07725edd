import type { Clock, Timer } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { TaskStatusUpdate } from '../../gen/tswarm/v1/dispatcher.js';
import type { TaskStatus } from '../../gen/tswarm/v1/objects.js';

/** Statuses per UpdateTaskStatus call, well under the dispatcher's per-call bound (1,000). */
export const REPORT_BATCH_MAX = 200;
/**
 * How long a status waits for others before it is sent: 20 tasks starting together go out as a
 * few calls, and a start still shows in `service ps` well within a heartbeat period.
 */
export const REPORT_INTERVAL_MS = 20;
/** The longest wait between attempts while no manager takes the statuses (doubling from the interval). */
export const REPORT_RETRY_MAX_MS = 2_000;

/**
 * The agent's outbox of task statuses: the latest status per task, sent in batches, kept (and
 * retried with backoff) until a manager has written it. Bounded by the tasks assigned here: a task
 * no longer assigned is forgotten.
 */
export class StatusReporter {
  private pending = new Map<string, TaskStatus>();
  private timer: Timer | undefined;
  private sending = false;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly send: (updates: TaskStatusUpdate[]) => Promise<void>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  report(taskId: string, status: TaskStatus): void {
    this.pending.set(taskId, status);
    this.schedule(REPORT_INTERVAL_MS);
  }

  forget(taskId: string): void {
    this.pending.delete(taskId);
  }

  /** Statuses not yet written (for tests and `info`). */
  waiting(): number {
    return this.pending.size;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer || this.sending || this.pending.size === 0) return;
    this.timer = this.clock.setTimer(delayMs, () => {
      this.timer = undefined;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.sending = true;
    const batch = [...this.pending].slice(0, REPORT_BATCH_MAX);
    try {
      await this.send(batch.map(([taskId, status]) => ({ taskId, status })));
      // A newer status that arrived meanwhile stays for the next batch.
      for (const [id, status] of batch) if (this.pending.get(id) === status) this.pending.delete(id);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.log.debug({ tasks: batch.length, err: (err as Error).message }, 'task statuses not taken; retrying');
    } finally {
      this.sending = false;
      this.schedule(Math.min(REPORT_INTERVAL_MS * 2 ** this.failures, REPORT_RETRY_MAX_MS));
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
