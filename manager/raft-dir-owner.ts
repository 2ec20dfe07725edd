/**
 * Raft data belongs to one member of one cluster. `raft/member.json` records which (cluster ID,
 * member ID = node ID), written atomically and fsynced before Raft first opens the directory,
 * and checked every time Raft starts on it: Raft data of another cluster or another member
 * would otherwise be taken for this member's own log, vote and configuration, and mix two
 * clusters (the WAL has no metadata record of its own to carry this).
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { fsyncDir, readFileIfExists, writeFileAtomic } from '../lib/fsutil.js';
import type { Logger } from '../lib/log.js';

export const RAFT_OWNER_FILE = 'member.json';

export interface RaftOwner {
  clusterId: string;
  memberId: string;
}

/**
 * How Raft is about to start on the directory. `new-member`: init, join or a promotion — the
 * member is new to its cluster's Raft, so any data there must already be its own. `restart`: a
 * daemon resuming as the manager node.json says it is.
 */
export type RaftStart = 'new-member' | 'restart';

/** Raft must not start on this directory; the message says what to do. */
export class RaftDirRefusedError extends TswarmError {}

interface OwnerFile extends RaftOwner {
  formatVersion: 1;
}

/**
 * Binds `raftDir` to `owner` before Raft opens it, or refuses (RaftDirRefusedError).
 * - member.json names `owner`: the data is this member's; it is kept.
 * - member.json names another cluster or member: refused, whatever `start` is.
 * - no member.json and no Raft data: a new member's directory; member.json is written.
 * - no member.json but Raft data (written by a tswarm that did not record its owner yet): on
 *   `restart`, node.json already says this node is that manager, and every manager's directory
 *   was like this before, so it is taken as this member's and member.json written (logged); a
 *   `new-member` must start empty, so it is refused.
 */
export async function claimRaftDir(
  raftDir: string,
  owner: RaftOwner,
  start: RaftStart,
  log: Logger,
): Promise<'same' | 'fresh' | 'adopted'> {
  const recorded = await readRaftOwner(raftDir);
  if (recorded) {
    if (recorded.clusterId === owner.clusterId && recorded.memberId === owner.memberId) return 'same';
    throw new RaftDirRefusedError(
      'FAILED_PRECONDITION',
      `${raftDir} holds the Raft data of member ${recorded.memberId} of cluster ${recorded.clusterId}, but this node is ` +
        `member ${owner.memberId} of cluster ${owner.clusterId}: Raft will not start on it, as that would mix the two. ` +
        'Take this node out with `tswarm leave --force` (it deletes raft/) and join the cluster again',
    );
  }
  if (await holdsRaftData(raftDir)) {
    if (start === 'new-member') {
      throw new RaftDirRefusedError(
        'FAILED_PRECONDITION',
        `${raftDir} holds Raft data that names no cluster or member, and member ${owner.memberId} of cluster ` +
          `${owner.clusterId} is new to its cluster's Raft, so it must start empty. ` +
          'Take this node out with `tswarm leave --force` (it deletes raft/) and join the cluster again',
      );
    }
    log.warn(
      { raftDir, clusterId: owner.clusterId, memberId: owner.memberId },
      'raft: this Raft directory names no owner (written before tswarm recorded one); it is taken as this manager’s, as node.json says',
    );
    await writeRaftOwner(raftDir, owner);
    return 'adopted';
  }
  await writeRaftOwner(raftDir, owner);
  return 'fresh';
}

/** Records `owner` in raftDir (created, mode 0700, if missing), atomically and durably. */
export async function writeRaftOwner(raftDir: string, owner: RaftOwner): Promise<void> {
  const created = await mkdir(raftDir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await fsyncDir(dirname(raftDir));
  const file: OwnerFile = { formatVersion: 1, clusterId: owner.clusterId, memberId: owner.memberId };
  await writeFileAtomic(join(raftDir, RAFT_OWNER_FILE), JSON.stringify(file) + '\n', 0o600);
}

export async function readRaftOwner(raftDir: string): Promise<RaftOwner | undefined> {
  const path = join(raftDir, RAFT_OWNER_FILE);
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  let v: Partial<OwnerFile> | null = null;
  try {
    v = JSON.parse(text) as Partial<OwnerFile> | null;
  } catch {
    // reported below, as any other malformed file
  }
  const valid =
    v !== null &&
    typeof v === 'object' &&
    v.formatVersion === 1 &&
    typeof v.clusterId === 'string' &&
    v.clusterId !== '' &&
    typeof v.memberId === 'string' &&
    v.memberId !== '';
  if (!valid) {
    throw new RaftDirRefusedError(
      'DATA_CORRUPT',
      `${path} does not say which cluster and member the Raft data belongs to, so Raft will not start on it. ` +
        'Take this node out with `tswarm leave --force` (it deletes raft/) and join the cluster again',
    );
  }
  return { clusterId: v!.clusterId!, memberId: v!.memberId! };
}

/** Whether anything but member.json is under raftDir (WAL segments, snapshots, or their directories' contents). */
async function holdsRaftData(dir: string, top = true): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  for (const e of entries) {
    // member.json, and the temporary file a crash during its atomic write may leave.
    if (top && (e.name === RAFT_OWNER_FILE || e.name.startsWith(`.${RAFT_OWNER_FILE}.tmp-`))) continue;
    if (!e.isDirectory()) return true;
    if (await holdsRaftData(join(dir, e.name), false)) return true;
  }
  return false;
}
