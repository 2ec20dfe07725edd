import { TswarmError } from '../../lib/errors.js';
import type { ChangeEvent } from './watch.js';

/**
 * The store's recent change events, so a watch can resume from a version (the CLI's progress
 * display and the agent reconnect without missing a change). Bounded by count: one transaction
 * at its largest (TX_ACTIONS_MAX) fits, and a reader that was away longer than this many changes
 * lists again instead — the same bound as a live watcher's queue.
 */
export const WATCH_HISTORY_EVENTS_MAX = 10_000;

export function resyncRequired(why: string): TswarmError {
  return new TswarmError('RESYNC_REQUIRED', `${why}. List the objects again, then watch from the version listed`);
}

export class WatchHistory {
  /** Oldest first from `head`; versions never decrease. Evicted slots are cut off in one splice when they pile up. */
  private events: ChangeEvent[] = [];
  private head = 0;
  /** Changes at or below this version are no longer all held (evicted, or before a snapshot). */
  private forgottenThrough = 0;

  constructor(private readonly eventsMax = WATCH_HISTORY_EVENTS_MAX) {}

  record(event: ChangeEvent): void {
    this.events.push(event);
    if (this.events.length - this.head <= this.eventsMax) return;
    this.forgottenThrough = this.events[this.head]!.version;
    this.events[this.head++] = undefined as unknown as ChangeEvent; // let the object go now
    // Amortised O(1): the dead prefix is cut once it is as long as the bound.
    if (this.head >= this.eventsMax) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** The store was replaced wholesale (a snapshot): nothing before `version` can be replayed. */
  reset(version: number): void {
    this.events = [];
    this.head = 0;
    this.forgottenThrough = version;
  }

  /**
   * The changes made after `version`, oldest first; RESYNC_REQUIRED when some of them are no
   * longer held, so a resumed watch never silently skips a change.
   */
  since(version: number): ChangeEvent[] {
    if (version < this.forgottenThrough)
      throw resyncRequired(
        `the store no longer holds the changes after version ${version} (it keeps them from version ${this.forgottenThrough} on)`,
      );
    // Versions rise along the array: find the first one after `version` by binary search.
    let [lo, hi] = [this.head, this.events.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.version <= version) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }

  get size(): number {
    return this.events.length - this.head;
  }
}
