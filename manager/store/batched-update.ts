import type { MemoryStore } from './memory-store.js';
import type { Store, Tx } from './store.js';

/**
 * Actions per transaction when a leader loop writes many decisions: well under TX_ACTIONS_MAX, so
 * one entry stays small for Raft (a few hundred KiB) and a conflict rebuilds only its own batch.
 */
export const LOOP_TX_ACTIONS_MAX = 500;

/**
 * Writes `items` as a sequence of transactions of at most `batchSize` items, each built from the
 * replica as it is when proposed (`write` re-reads the objects it changes, so a change made by
 * another component meanwhile is built upon, not overwritten). Stops early when `signal` aborts.
 */
export async function updateInBatches<T>(
  store: Store,
  items: readonly T[],
  write: (tx: Tx, replica: MemoryStore, item: T) => void,
  signal: AbortSignal,
  batchSize = LOOP_TX_ACTIONS_MAX,
): Promise<void> {
  for (let i = 0; i < items.length && !signal.aborted; i += batchSize) {
    const batch = items.slice(i, i + batchSize);
    await store.update((tx, replica) => {
      for (const item of batch) write(tx, replica, item);
    });
  }
}
