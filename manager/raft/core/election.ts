/**
 * Starting elections and counting votes (Raft §5.2, pre-vote from thesis §9.6).
 */
import { CAMPAIGN_TRANSFER, newMessage, voteResponseType, type MessageType } from './messages.js';
import type { Raft } from './raft.js';
import type { VoteResult } from './quorum.js';
import type { NodeId } from './types.js';

export type CampaignType = 'preElection' | 'election' | 'transfer';

/** MsgHup: campaign if we may. */
export function hup(r: Raft, t: CampaignType): void {
  if (r.state === 'leader') {
    r.log.debug(`${r.id} ignoring MsgHup because already leader`);
    return;
  }
  if (!r.promotable()) {
    r.log.warn(`${r.id} is unpromotable and can not campaign`);
    return;
  }
  // A committed but unapplied conf change may change who votes: wait until it is applied, so
  // the election is decided under the configuration everyone will use.
  if (hasUnappliedConfChange(r)) {
    r.log.warn(
      `${r.id} cannot campaign at term ${r.term} since there are still pending configuration changes to apply`,
    );
    return;
  }
  r.log.info(`${r.id} is starting a new election at term ${r.term}`);
  campaign(r, t);
}

function hasUnappliedConfChange(r: Raft): boolean {
  const { applied, committed } = r.raftLog;
  if (applied >= committed) return false;
  const ents = r.raftLog.slice(applied + 1, committed + 1, Number.MAX_SAFE_INTEGER) ?? [];
  return ents.some((e) => e.type === 'confChange');
}

export function campaign(r: Raft, t: CampaignType): void {
  let voteMsg: MessageType;
  let term: number;
  if (t === 'preElection') {
    r.becomePreCandidate();
    voteMsg = 'MsgPreVote';
    // Pre-votes ask about the term we would campaign in, without moving to it.
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteMsg = 'MsgVote';
    term = r.term;
  }
  if (poll(r, r.id, voteResponseType(voteMsg), true) === 'won') {
    // A single voter wins with its own vote.
    if (t === 'preElection') campaign(r, 'election');
    else r.becomeLeader();
    return;
  }
  const lastIndex = r.raftLog.lastIndex();
  const lastTerm = r.raftLog.lastTerm();
  for (const id of [...r.trk.voters].sort()) {
    if (id === r.id) continue;
    r.log.info(
      `${r.id} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${voteMsg} request to ${id} at term ${r.term}`,
    );
    const context = t === 'transfer' ? CAMPAIGN_TRANSFER : '';
    r.send(newMessage({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm, context }));
  }
}

/** Records a vote and returns the election's result so far. */
export function poll(r: Raft, from: NodeId, t: MessageType, granted: boolean): VoteResult {
  if (from !== r.id) {
    r.log.info(`${r.id} received ${t} ${granted ? '' : 'rejection '}from ${from} at term ${r.term}`);
  }
  r.trk.recordVote(from, granted);
  const { granted: g, rejected, result } = r.trk.tallyVotes();
  if (from !== r.id) r.log.info(`${r.id} has received ${g} ${t} votes and ${rejected} vote rejections`);
  return result;
}
