/** The follower's and (pre-)candidate's step functions, and a follower's handling of the leader's messages. */
import { campaign, hup, poll } from './election.js';
import { newMessage, type Message } from './messages.js';
import type { Raft, StepResult } from './raft.js';
import { bcastAppend } from './replicate.js';
import { NONE } from './types.js';

export function stepFollower(r: Raft, m: Message): StepResult {
  switch (m.type) {
    case 'MsgProp':
    case 'MsgTransferLeader':
    case 'MsgReadIndex':
      if (m.type === 'MsgProp' && r.cfg.disableProposalForwarding) {
        r.log.info(`${r.id} not forwarding to leader ${r.lead} at term ${r.term}; dropping proposal`);
        return 'dropped';
      }
      if (r.lead === NONE) {
        r.log.info(`${r.id} no leader at term ${r.term}; dropping ${m.type}`);
        return 'dropped';
      }
      r.send({ ...m, to: r.lead, term: 0 });
      return 'ok';
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return 'ok';
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return 'ok';
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return 'ok';
    case 'MsgTimeoutNow':
      r.log.info(
        `${r.id} [term ${r.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`,
      );
      // A transfer needs no pre-vote: the leader asked for it, nobody is partitioned.
      hup(r, 'transfer');
      return 'ok';
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return 'ok';
    default:
      return 'ok';
  }
}

export function stepCandidate(r: Raft, m: Message): StepResult {
  // Only responses to our own kind of vote count (a stale pre-vote response in a real
  // election, or the reverse, is ignored).
  const myVoteResp = r.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgProp':
    case 'MsgTransferLeader':
    case 'MsgReadIndex':
      r.log.info(`${r.id} no leader at term ${r.term}; dropping ${m.type}`);
      return 'dropped';
    case 'MsgApp':
      r.becomeFollower(m.term, m.from); // always m.term === r.term here
      handleAppendEntries(r, m);
      return 'ok';
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return 'ok';
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return 'ok';
    case 'MsgPreVoteResp':
    case 'MsgVoteResp': {
      if (m.type !== myVoteResp) return 'ok';
      const result = poll(r, m.from, m.type, !m.reject);
      if (result === 'won') {
        if (r.state === 'preCandidate') {
          // Won the pre-vote: now the real election, in the next term.
          campaign(r, 'election');
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (result === 'lost') {
        // A pre-vote rejection with a higher term already made us a follower in step().
        r.becomeFollower(r.term, NONE);
      }
      return 'ok';
    }
    default:
      return 'ok';
  }
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.raftLog.committed) {
    // Everything up to our commit matches the leader's log: tell it where we are.
    r.send(newMessage({ type: 'MsgAppResp', to: m.from, index: r.raftLog.committed }));
    return;
  }
  const lastNew = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send(newMessage({ type: 'MsgAppResp', to: m.from, index: lastNew }));
    return;
  }
  // Reject, with a hint that lets the leader skip a whole mismatching term in one round trip.
  const hintIndex = Math.min(m.index, r.raftLog.lastIndex());
  const hint = r.raftLog.findConflictByTerm(hintIndex, m.logTerm);
  r.log.debug(
    `${r.id} [logterm: ${r.raftLog.term(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
  );
  r.send(
    newMessage({
      type: 'MsgAppResp',
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    }),
  );
}

function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  r.send(newMessage({ type: 'MsgHeartbeatResp', to: m.from, context: m.context }));
}

function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  const { index, term } = s.metadata;
  if (restore(r, m)) {
    r.log.info(`${r.id} [commit: ${r.raftLog.committed}] restored snapshot [index: ${index}, term: ${term}]`);
    r.send(newMessage({ type: 'MsgAppResp', to: m.from, index: r.raftLog.lastIndex() }));
  } else {
    r.log.info(`${r.id} [commit: ${r.raftLog.committed}] ignored snapshot [index: ${index}, term: ${term}]`);
    r.send(newMessage({ type: 'MsgAppResp', to: m.from, index: r.raftLog.committed }));
  }
}

/** Installs the leader's snapshot unless our log already covers it. Returns whether it was installed. */
function restore(r: Raft, m: Message): boolean {
  const s = m.snapshot!;
  const { index, term } = s.metadata;
  if (index <= r.raftLog.committed) return false;
  if (r.raftLog.matchTerm(index, term)) {
    // Our log already has the snapshot's last entry, so (log matching) everything before it:
    // just commit it.
    r.raftLog.commitTo(index);
    return false;
  }
  // Note: we accept a snapshot whose configuration does not include us: a member added after
  // the snapshot was taken learns of itself from the entries that follow.
  r.raftLog.restore(s);
  r.switchToConfig(s.metadata.confState);
  return true;
}
