import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ContainerRuntime } from '../runtime/runtime.js';

/** How long an attached run may take to read the last output before its auto-remove goes ahead. */
const DRAIN_WAIT_MS = 10_000;

/**
 * `--rm`: removes an auto-remove container once it exited, and once an attached run has read its
 * output. The engine does it rather than the runtime, whose own would delete the log before an
 * attached run read its last lines, and skip the network detach.
 */
export class AutoRemover {
  /** Containers whose auto-remove is being waited for, so each has one reaper: its outcome. */
  private readonly reapers = new Map<string, Promise<void>>();
  /** Attached runs still reading output: the reaper waits for them before removing the log. */
  private readonly drains = new Map<string, Promise<void>>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly remove: (id: string) => Promise<void>,
    private readonly closed: () => boolean,
    private readonly log: Logger,
  ) {}

  /** Holds the container's removal until the returned function is called (the run read its output). */
  holdForDrain(id: string): () => void {
    let drained = () => {};
    this.drains.set(id, new Promise<void>((resolve) => (drained = resolve)));
    return drained;
  }

  /** Forgets the drain hold of a run that is over. */
  endDrain(id: string): void {
    this.drains.delete(id);
  }

  /**
   * Removes an auto-remove container once it exited (and an attached run read its output). Runs
   * in the background; a daemon restart resumes it from the label (Engine.recover).
   */
  reapWhenExited(id: string): void {
    if (this.reapers.has(id)) return;
    const outcome = (async () => {
      try {
        await this.runtime.wait(id);
        const drain = this.drains.get(id);
        if (drain) await Promise.race([drain, new Promise((resolve) => setTimeout(resolve, DRAIN_WAIT_MS).unref())]);
        if (!this.closed()) await this.remove(id);
      } catch (err) {
        if (this.closed() || (err instanceof TswarmError && err.code === 'NOT_FOUND')) return;
        this.log.warn({ err, container: id }, 'auto-remove failed');
        throw err;
      } finally {
        this.reapers.delete(id);
      }
    })();
    // Nobody may be waiting for it: a failure is logged above, never an unhandled rejection.
    outcome.catch(() => undefined);
    this.reapers.set(id, outcome);
  }

  /**
   * The auto-remove under way for a container: resolves once it is removed, rejects with why it
   * could not be (a wait for `removed` answers with that, as dockerd does). Undefined when none is.
   */
  removal(id: string): Promise<void> | undefined {
    return this.reapers.get(id);
  }
}
