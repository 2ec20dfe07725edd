/**
 * Leader: sending the log to followers (MsgApp, or MsgSnap when the entries they need were
 * compacted away) and heartbeats.
 */
import { assert } from '../../../lib/assert.js';
import { entriesBytes, newMessage } from './messages.js';
import type { Raft } from './raft.js';
import { SnapshotTemporarilyUnavailableError } from './storage.js';
import type { NodeId } from './types.js';

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends to `to` the entries it lacks, from its next index, at most maxSizePerMsgBytes per
 * message. Returns whether a message was sent. With sendIfEmpty false, an append without
 * entries (which would only carry the commit index) is not sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.raftLog.term(prevIndex);
  const ents = r.raftLog.entriesFrom(pr.next, r.cfg.maxSizePerMsgBytes);
  if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
  if (prevTerm === undefined || ents === undefined) return maybeSendSnapshot(r, to);
  r.send(
    newMessage({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.raftLog.committed }),
  );
  pr.sentEntries(ents.length, entriesBytes(ents));
  pr.sentCommit = Math.max(pr.sentCommit, r.raftLog.committed);
  return true;
}

function maybeSendSnapshot(r: Raft, to: NodeId): boolean {
  const pr = r.trk.progress.get(to)!;
  // A snapshot is large: only send it to a follower we know is there to receive it.
  if (!pr.recentActive) {
    r.log.debug(`${r.id} ignored sending snapshot to ${to} since it is not recently active`);
    return false;
  }
  let snapshot;
  try {
    snapshot = r.raftLog.snapshot();
  } catch (err) {
    if (err instanceof SnapshotTemporarilyUnavailableError) {
      r.log.debug(`${r.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
      return false;
    }
    throw err;
  }
  const { index, term } = snapshot.metadata;
  assert(index !== 0, 'replicate: a compacted log has a snapshot to send');
  r.log.debug(
    `${r.id} [firstindex: ${r.raftLog.firstIndex()}, commit: ${r.raftLog.committed}] sent snapshot[index: ${index}, term: ${term}] to ${to} [${pr.describe()}]`,
  );
  pr.becomeSnapshot(index);
  r.send(newMessage({ type: 'MsgSnap', to, snapshot }));
  return true;
}

export function bcastAppend(r: Raft): void {
  for (const id of r.trk.peers(r.id)) sendAppend(r, id);
}

export function sendHeartbeat(r: Raft, to: NodeId, context: string): void {
  const pr = r.trk.progress.get(to);
  if (!pr) return;
  // Never tell a follower to commit beyond what it is known to hold: its log past match may
  // still differ from ours.
  const commit = Math.min(pr.match, r.raftLog.committed);
  pr.sentCommit = Math.max(pr.sentCommit, commit);
  r.send(newMessage({ type: 'MsgHeartbeat', to, commit, context }));
}

export function bcastHeartbeat(r: Raft, context: string = r.readOnly.lastPendingRequestCtx()): void {
  for (const id of r.trk.peers(r.id)) sendHeartbeat(r, id, context);
}
