import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { applyToConfState, decodeConfChange } from '../../manager/raft/core/confchange.js';
import { DiskStorage } from '../../manager/raft/storage/storage-disk.js';

/** What a member's Raft directory holds, read offline: its committed log and configuration. */
export interface RaftView {
  term: number;
  commit: number;
  voters: string[];
  learners: string[];
  /** Committed entries after the snapshot: index → "term:sha256 of the data". */
  entries: Map<number, string>;
}

/**
 * Reads a stopped daemon's `raft/` through a copy in `scratchDir` (opening storage may repair a
 * torn tail, and the test must not change what the daemon finds when it starts again). The
 * configuration is the snapshot's, with the committed conf changes after it applied in order.
 */
export async function readRaftView(raftDir: string, scratchDir: string): Promise<RaftView> {
  const copy = await mkdtemp(join(scratchDir, 'raft-view-'));
  await cp(raftDir, copy, { recursive: true });
  const storage = await DiskStorage.open(copy);
  try {
    const { hardState } = storage.initialState();
    const snap = storage.snapshot();
    let conf = snap.metadata.confState;
    const commit = Math.min(hardState.commit, storage.lastIndex());
    const entries = new Map<number, string>();
    if (commit > snap.metadata.index) {
      for (const e of storage.entries(snap.metadata.index + 1, commit + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === 'confChange') conf = applyToConfState(conf, decodeConfChange(e.data));
        entries.set(e.index, `${e.term}:${createHash('sha256').update(e.data).digest('hex')}`);
      }
    }
    return {
      term: hardState.term,
      commit,
      voters: [...conf.voters].sort(),
      learners: [...conf.learners].sort(),
      entries,
    };
  } finally {
    await storage.close();
    await rm(copy, { recursive: true, force: true });
  }
}
