import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a size walk may still spend, shared by the walks of one request (`system df` measures
 * every container and volume): entries looked at, and a time to stop by. A tree of millions of
 * files must not hold a request, nor the disk, for minutes.
 */
export interface WalkBudget {
  /** Directory entries the walks may still look at. */
  entriesLeft: number;
  /** Wall-clock time (Date.now(), ms) after which no walk reads on. */
  deadlineMs: number;
}

export interface TreeBytes {
  bytes: number;
  /** False when the budget ran out before the whole tree was seen: `bytes` is then a lower bound. */
  complete: boolean;
}

/** Entries stat'ed at once within one directory: enough to keep the disk busy, few enough to keep fds free. */
const STAT_BATCH = 64;

export function walkBudget(entriesMax: number, timeMsMax: number, nowMs = Date.now()): WalkBudget {
  return { entriesLeft: entriesMax, deadlineMs: nowMs + timeMsMax };
}

const spent = (budget: WalkBudget) => budget.entriesLeft <= 0 || Date.now() > budget.deadlineMs;

/**
 * The bytes under `root` as Docker's directory.Size counts them (du --apparent-size): the size of
 * every entry that is not a directory — files, symlinks (not followed), an overlay's whiteouts —
 * a hard-linked file once. A root that does not exist holds 0 bytes; an entry that vanishes
 * while the walk runs (a container writing) is skipped.
 */
export async function treeBytes(root: string, budget: WalkBudget): Promise<TreeBytes> {
  const seenInodes = new Set<string>();
  let bytes = 0;
  const pending = [root];
  while (pending.length > 0) {
    if (spent(budget)) return { bytes, complete: false };
    const dir = pending.pop()!;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      if (spent(budget)) return { bytes, complete: false };
      const batch = names.slice(i, i + STAT_BATCH);
      budget.entriesLeft -= batch.length;
      const stats = await Promise.all(batch.map((n) => lstat(join(dir, n)).catch(() => undefined)));
      stats.forEach((st, j) => {
        if (!st) return;
        if (st.isDirectory()) return void pending.push(join(dir, batch[j]!));
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seenInodes.has(key)) return;
          seenInodes.add(key);
        }
        bytes += st.size;
      });
    }
  }
  return { bytes, complete: true };
}
