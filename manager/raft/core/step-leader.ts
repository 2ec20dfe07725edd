/** The leader's step function. */
import { confChangeRefusal, decodeConfChange, applyToConfState } from './confchange.js';
import type { Message } from './messages.js';
import type { Raft, StepResult } from './raft.js';
import { bcastAppend, bcastHeartbeat, maybeSendAppend, sendAppend } from './replicate.js';
import { voteResult } from './quorum.js';
import type { Progress } from './progress.js';
import { NONE, type Entry, type NodeId } from './types.js';

export function stepLeader(r: Raft, m: Message): StepResult {
  switch (m.type) {
    case 'MsgBeat':
      bcastHeartbeat(r);
      return 'ok';
    case 'MsgCheckQuorum':
      checkQuorum(r);
      return 'ok';
    case 'MsgProp':
      return handleProposal(r, m);
    case 'MsgReadIndex':
      return handleReadIndex(r, m);
    default:
  }
  const pr = r.trk.progress.get(m.from);
  if (!pr) {
    r.log.debug(`${r.id} no progress available for ${m.from}`);
    return 'ok';
  }
  switch (m.type) {
    case 'MsgAppResp':
      handleAppendResponse(r, m, pr);
      break;
    case 'MsgHeartbeatResp':
      handleHeartbeatResponse(r, m, pr);
      break;
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') break;
      r.log.debug(
        `${r.id} snapshot ${m.reject ? 'failed' : 'succeeded'}, resumed sending replication messages to ${m.from} [${pr.describe()}]`,
      );
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for the follower's response (or a heartbeat's) before probing: the snapshot may
      // still be being applied there.
      pr.msgAppFlowPaused = true;
      break;
    case 'MsgUnreachable':
      // The transport lost a message: stop streaming optimistically, probe instead.
      if (pr.state === 'replicate') pr.becomeProbe();
      r.log.debug(`${r.id} failed to send message to ${m.from} because it is unreachable [${pr.describe()}]`);
      break;
    case 'MsgTransferLeader':
      handleTransferLeader(r, m, pr);
      break;
    default:
  }
  return 'ok';
}

function checkQuorum(r: Raft): void {
  if (!r.trk.quorumActive(r.id)) {
    r.log.warn(`${r.id} stepped down to follower since quorum is not active`);
    r.becomeFollower(r.term, NONE);
  }
  // Start the next round: everyone must be heard from again.
  for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
}

function handleProposal(r: Raft, m: Message): StepResult {
  if (m.entries.length === 0) return 'dropped';
  if (!r.trk.progress.has(r.id)) return 'dropped'; // removed, about to step down
  if (r.leadTransferee !== NONE) {
    r.log.debug(
      `${r.id} [term ${r.term}] transfer leadership to ${r.leadTransferee} is in progress; dropping proposal`,
    );
    return 'dropped';
  }
  const entries: Entry[] = m.entries.map((e, i) => {
    if (e.type !== 'confChange') return e;
    const refusal = confChangeRefusalFor(r, e);
    if (refusal !== undefined) {
      r.log.info(`${r.id} ignoring conf change at index ${r.raftLog.lastIndex() + i + 1}: ${refusal}`);
      // Keep the slot (the batch's indexes stay as proposed) but make it a no-op.
      return { ...e, type: 'normal' as const, data: new Uint8Array() };
    }
    r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    return e;
  });
  if (!r.appendEntry(entries)) return 'dropped';
  bcastAppend(r);
  return 'ok';
}

function confChangeRefusalFor(r: Raft, e: Entry): string | undefined {
  // One change at a time: the previous one must be applied before the next enters the log.
  if (r.pendingConfIndex > r.raftLog.applied) {
    return `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
  }
  let cc;
  try {
    cc = decodeConfChange(e.data);
  } catch (err) {
    return (err as Error).message;
  }
  const cs = r.trk.confState();
  const refusal = confChangeRefusal(cs, cc);
  if (refusal !== undefined) return refusal;
  // A leader may remove itself (it steps down once that applies), but never to an empty config.
  return applyToConfState(cs, cc).voters.length === 0 ? 'would leave no voters' : undefined;
}

function handleReadIndex(r: Raft, m: Message): StepResult {
  if (r.trk.isSingleton()) {
    r.respondToReadIndex(m, r.raftLog.committed);
    return 'ok';
  }
  // Until an entry of our term is committed we do not know the real commit index (§6.4 step 1).
  if (!r.committedEntryInCurrentTerm()) {
    if (r.pendingReadIndexMessages.length >= r.cfg.maxPendingReadIndex) return 'dropped';
    r.pendingReadIndexMessages.push(m);
    return 'ok';
  }
  if (!r.readOnly.addRequest(r.raftLog.committed, m)) return 'dropped';
  // Our own ack counts; the heartbeat round confirms we are still leader.
  r.readOnly.recvAck(r.id, m.context);
  bcastHeartbeat(r, m.context);
  return 'ok';
}

function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    r.log.debug(
      `${r.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`,
    );
    let nextProbeIndex = m.rejectHint;
    if (m.logTerm > 0) nextProbeIndex = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbeIndex)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  // A probe answered at exactly our match can also move back to replicate.
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
  if (pr.state === 'probe') {
    pr.becomeReplicate();
  } else if (pr.state === 'snapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
    // The follower has caught up through the snapshot; the log covers the rest.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === 'replicate') {
    pr.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) {
    r.releasePendingReadIndexMessages();
    bcastAppend(r);
  } else if (pr.canBumpCommit(r.raftLog.committed)) {
    // This follower may have missed the latest commit (it was paused when it was broadcast).
    sendAppend(r, m.from);
  }
  // Acknowledgements may have opened the window: send as much as it allows.
  while (maybeSendAppend(r, m.from, false)) {
    /* keep sending */
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.log.info(`${r.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
    r.sendTimeoutNow(m.from);
  }
}

function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A full window with the follower alive means appends were lost: free a slot to retry.
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.raftLog.lastIndex()) sendAppend(r, m.from);
  if (m.context === '') return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks) return;
  const granted = new Map<NodeId, boolean>([...acks].map((id) => [id, true]));
  if (voteResult(r.trk.voters, granted) !== 'won') return;
  for (const { request, index } of r.readOnly.advance(m.context)) r.respondToReadIndex(request, index);
}

function handleTransferLeader(r: Raft, m: Message, pr: Progress): void {
  const transferee = m.from;
  if (pr.isLearner) {
    r.log.debug(`${r.id} is learner. Ignored transferring leadership`);
    return;
  }
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) {
      r.log.info(
        `${r.id} [term ${r.term}] transfer leadership to ${transferee} is in progress, ignores request to same node`,
      );
      return;
    }
    r.abortLeaderTransfer();
    r.log.info(`${r.id} [term ${r.term}] abort previous transferring leadership to ${r.leadTransferee}`);
  }
  if (transferee === r.id) {
    r.log.debug(`${r.id} is already leader. Ignored transferring leadership to self`);
    return;
  }
  r.log.info(`${r.id} [term ${r.term}] starts to transfer leadership to ${transferee}`);
  // The transfer must finish within an election timeout (tickHeartbeat aborts it after that).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) {
    r.log.info(`${r.id} sends MsgTimeoutNow to ${transferee} immediately as ${transferee} already has up-to-date log`);
    r.sendTimeoutNow(transferee);
  } else {
    sendAppend(r, transferee);
  }
}
