/**
 * Opening a member's durable state: a fresh raft dir is bootstrapped with the initial
 * configuration (as a snapshot at index 1, term 1, which every initial member writes the same
 * way, so they agree on the log's start without any message); an existing one is recovered
 * from its newest snapshot, and the entries after it are applied again by the node loop. A
 * member joining an existing cluster starts empty: the leader sends it a snapshot.
 */
import type { Logger } from '../../../lib/log.js';
import { DiskStorage } from '../storage/storage-disk.js';
import type { StateMachine } from '../core/state-machine.js';
import type { NodeId, Snapshot } from '../core/types.js';
import { decodeSnapshotData, encodeSnapshotData } from './snapshot-data.js';

export interface Recovered {
  storage: DiskStorage;
  /** Index the state machine was restored to (the snapshot's). */
  appliedIndex: number;
  /** The snapshot's address book, completed with the configured initial members. */
  addresses: Map<NodeId, string>;
  bootstrapped: boolean;
}

export async function openStorage<R>(
  raftDir: string,
  initialMembers: ReadonlyMap<NodeId, string>,
  sm: StateMachine<R>,
  logger: Logger,
  join = false,
): Promise<Recovered> {
  const storage = await DiskStorage.open(raftDir, { logger: logger.child({ part: 'wal' }) });
  try {
    const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    if (fresh && initialMembers.size === 0) {
      // Joining an existing cluster: start empty and let the leader send its snapshot, which
      // carries the real configuration (a bootstrap here would claim index 1 with a wrong one).
      logger.info('raft: starting empty, to be filled by the leader');
      return { storage, appliedIndex: 0, addresses: new Map(), bootstrapped: false };
    }
    if (fresh && !join) {
      const voters = [...initialMembers.keys()].sort();
      const boot: Snapshot = {
        metadata: { index: 1, term: 1, confState: { voters, learners: [] } },
        data: encodeSnapshotData(initialMembers, sm.snapshot()),
      };
      await storage.applySnapshot(boot, { term: 1, vote: '', commit: 1 });
      logger.info({ voters }, 'raft: bootstrapped a new cluster configuration');
    }
    const snap = storage.snapshot();
    const { addresses, stateMachineData } = decodeSnapshotData(snap.data);
    for (const [id, addr] of initialMembers) if (!addresses.has(id)) addresses.set(id, addr);
    sm.restore(stateMachineData);
    return { storage, appliedIndex: snap.metadata.index, addresses, bootstrapped: fresh && !join };
  } catch (err) {
    await storage.close();
    throw err;
  }
}
