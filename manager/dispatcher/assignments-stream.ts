import type { DeepReadonly } from '../../lib/deep-readonly.js';
import type { Logger } from '../../lib/log.js';
import type { StreamSink } from '../../lib/grpc.js';
import type { AssignmentsResponse } from '../../gen/tswarm/v1/dispatcher.js';
import type { Task } from '../../gen/tswarm/v1/objects.js';
import type { Store } from '../store/store.js';
import type { ChangeEvent, Watcher } from '../store/watch.js';
import { AssignmentSet } from './assignment-set.js';

/**
 * Events a node's watch may buffer: a worker this far behind gets a fresh COMPLETE set instead
 * (cheaper than replaying), and the store never holds more for it.
 */
export const ASSIGNMENT_WATCH_QUEUE_MAX = 4_096;

/** The next event, or undefined when the stream is to end; rejects when the watcher fails. */
function nextEvent(watcher: Watcher, signal: AbortSignal): Promise<IteratorResult<ChangeEvent> | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    watcher.next().then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * A node's assignments: the COMPLETE set, then INCREMENTAL changes as the store's tasks for the
 * node change, until `signal` aborts. A watch that falls behind or is ended (a store restored from
 * a snapshot) does not end the stream: a new watch starts and a fresh COMPLETE set goes out. The
 * watch starts before the set is read, so no change falls between them (a change seen twice is
 * sent once: AssignmentSet skips what the worker already holds).
 */
export async function streamAssignments(
  store: Store,
  nodeId: string,
  sink: StreamSink<AssignmentsResponse>,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const set = new AssignmentSet(nodeId);
  while (!signal.aborted) {
    const watcher = store.watch({
      kinds: ['task'],
      filter: (e) => (e.object as DeepReadonly<Task>).nodeId === nodeId,
      queueLengthMax: ASSIGNMENT_WATCH_QUEUE_MAX,
    });
    try {
      await sink.write(set.complete(store.replica.tasksOfNode(nodeId)));
      for (;;) {
        const first = await nextEvent(watcher, signal);
        if (!first) return;
        if (first.done) break; // the store ended the watch: start again from a COMPLETE set
        for (const m of set.changes([first.value, ...watcher.drain()])) await sink.write(m);
      }
    } catch (err) {
      log.info(
        { node: nodeId, err: (err as Error).message },
        'assignments watch ended; sending the complete set again',
      );
    } finally {
      watcher.close();
    }
  }
}
