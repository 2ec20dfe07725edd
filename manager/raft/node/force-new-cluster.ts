/**
 * Recovering a cluster that lost its quorum (`tswarm init --force-new-cluster`, as Docker's):
 * this member keeps everything it knew to be committed (up to its own commit index), and starts
 * a new Raft configuration with itself as the only voter. An entry the lost majority committed
 * (and acknowledged) after this member last learned the commit index is not kept — etcd's
 * `--force-new-cluster` makes the same choice, because entries past the commit index may also be
 * ones that were never committed, and applying those would make failed writes appear. The README
 * says to run it on the survivor furthest ahead. The old Raft directory is kept aside (until the
 * node leaves the swarm).
 */
import { rename } from 'node:fs/promises';
import { TswarmError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { StateMachine } from '../core/state-machine.js';
import { DiskStorage } from '../storage/storage-disk.js';
import type { NodeId } from '../core/types.js';
import { decodeSnapshotData, encodeSnapshotData } from './snapshot-data.js';

/** The old Raft directory is renamed to RAFT_DIR + this + a timestamp (`leave` deletes these too). */
export const FORCE_NEW_CLUSTER_BACKUP_INFIX = '.before-force-new-cluster-';

/** Entries read per batch while replaying; bounds memory on a long log. */
const REPLAY_BATCH_BYTES_MAX = 16 * 1024 * 1024;

export async function forceNewCluster<R>(
  raftDir: string,
  self: NodeId,
  selfAddr: string,
  sm: StateMachine<R>,
  logger: Logger,
  nowMs: number,
): Promise<{ index: number; term: number; oldDir: string }> {
  const old = await DiskStorage.open(raftDir, { logger: logger.child({ part: 'wal' }) });
  let index: number;
  let term: number;
  try {
    const { hardState } = old.initialState();
    const snap = old.snapshot();
    if (snap.metadata.index === 0 && old.lastIndex() === 0)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `${raftDir} holds no Raft state to recover from. Run \`tswarm init\` without --force-new-cluster to create a new cluster`,
      );
    sm.restore(decodeSnapshotData(snap.data).stateMachineData);
    index = snap.metadata.index;
    term = snap.metadata.term;
    // Replay what this member knew to be committed after the snapshot (see the comment above).
    const commit = Math.min(hardState.commit, old.lastIndex());
    while (index < commit) {
      for (const e of old.entries(index + 1, commit + 1, REPLAY_BATCH_BYTES_MAX)) {
        if (e.type === 'normal' && e.data.length > 0) sm.apply(e.index, e.data);
        index = e.index;
        term = e.term;
      }
    }
    term = Math.max(term, hardState.term);
  } finally {
    await old.close();
  }
  const oldDir = `${raftDir}${FORCE_NEW_CLUSTER_BACKUP_INFIX}${nowMs}`;
  await rename(raftDir, oldDir);
  const fresh = await DiskStorage.open(raftDir, { logger: logger.child({ part: 'wal' }) });
  try {
    await fresh.applySnapshot(
      {
        metadata: { index, term, confState: { voters: [self], learners: [] } },
        data: encodeSnapshotData(new Map([[self, selfAddr]]), sm.snapshot()),
      },
      { term, vote: '', commit: index },
    );
  } finally {
    await fresh.close();
  }
  logger.warn(
    { index, term, oldDir },
    'raft: forced a new single-member cluster from the committed state; the old Raft directory is kept',
  );
  return { index, term, oldDir };
}
