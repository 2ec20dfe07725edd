import type { Logger } from '../../lib/log.js';
import type { Watcher, WatchOptions } from '../../manager/store/watch.js';
import type { EventBus } from './bus.js';
import { eventMessage } from './message.js';
import { SWARM_EVENT_KINDS, swarmEventOf } from './swarm-events.js';

/** What the feed needs of a manager: its replica of the store, and how far Raft had committed. */
export interface ManagerStore {
  replica: { watch(options: WatchOptions): Watcher };
  raftStatus(): { commit: number };
}

/**
 * Swarm events on a manager, as dockerd makes them on its managers: a watch of this manager's
 * replica of the store, so every event is a change Raft committed and this manager applied —
 * any manager serving `/events` tells the same changes, stamped with the same times. A manager
 * that restarts does not tell again the changes committed before it stopped (its Raft log is
 * applied again at start); a watch the store ends (a snapshot replaced the replica, or the feed
 * fell 10,000 changes behind) is opened again, and the changes in between make no events.
 */
export class SwarmEventFeed {
  private watcher: Watcher | undefined;
  private generation = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  /** Follows this manager's store from now on (the daemon calls it as its manager parts start and stop). */
  follow(manager: ManagerStore | undefined): void {
    const generation = ++this.generation;
    this.watcher?.close();
    this.watcher = undefined;
    if (!manager) return;
    // Entries up to the commit index known at start were committed before: already told.
    const floor = manager.raftStatus().commit;
    void this.run(manager, floor, generation);
  }

  close(): void {
    this.follow(undefined);
  }

  private async run(manager: ManagerStore, floor: number, generation: number): Promise<void> {
    while (generation === this.generation) {
      const watcher = manager.replica.watch({ kinds: SWARM_EVENT_KINDS, includePrevious: true });
      this.watcher = watcher;
      try {
        for await (const change of watcher) {
          if (change.version <= floor) continue;
          const e = swarmEventOf(change);
          if (e) this.bus.publish(eventMessage(e.type, e.action, e.id, e.attributes, 'swarm', e.timeNano));
        }
        return; // closed: the manager parts stopped, or the daemon is stopping
      } catch (err) {
        if (generation !== this.generation) return;
        this.log.warn(
          { err: (err as Error).message },
          'swarm events: the store ended the watch; watching again (changes in between make no events)',
        );
      }
    }
  }
}
