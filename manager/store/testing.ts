import { ManualClock } from '../../lib/clock.js';
import { MemoryStore, type TxResult } from './memory-store.js';
import { Store, type Proposer } from './store.js';

/**
 * Applies proposals at once with rising indexes, to every replica given: a test double for Raft,
 * for unit tests of the components that sit on the store.
 */
export class DirectProposer implements Proposer {
  index = 0;
  constructor(private readonly replicas: MemoryStore[]) {}

  async propose(data: Uint8Array): Promise<TxResult> {
    this.index++;
    const results = this.replicas.map((r) => r.apply(this.index, data));
    return results[0]!;
  }
}

export function testStore(startMs = 1_000): { store: Store; clock: ManualClock; replica: MemoryStore } {
  const replica = new MemoryStore();
  const clock = new ManualClock(startMs);
  return { store: new Store(replica, new DirectProposer([replica]), clock), clock, replica };
}
