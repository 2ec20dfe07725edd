/**
 * The Raft state machine of one member: pure, driven only by step(message) and tick().
 * Everything it wants done (persist, send, apply) accumulates in fields that RawNode turns into
 * a Ready. Role behaviour is a plain function chosen by a field (stepLeader, stepCandidate,
 * stepFollower), as in etcd-io/raft; this file holds the state and what all roles share.
 */
import { assert } from '../../../lib/assert.js';
import type { BasicLogger } from '../../../lib/logger.js';
import { resolveConfig, type RaftConfig, type ResolvedConfig } from './config.js';
import { applyToConfState, describeConfState } from './confchange.js';
import { hup } from './election.js';
import { RaftLog } from './log.js';
import { CAMPAIGN_TRANSFER, entriesBytes, newMessage, voteResponseType, type Message } from './messages.js';
import { ReadOnly, type ReadState } from './read-only.js';
import { bcastAppend, maybeSendAppend } from './replicate.js';
import { stepLeader } from './step-leader.js';
import { stepCandidate, stepFollower } from './step-follower.js';
import { ProgressTracker } from './tracker.js';
import { NONE, type ConfChange, type ConfState, type Entry, type HardState, type NodeId } from './types.js';

export type StateType = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** 'dropped': a proposal (or forwarded request) could not be accepted; the caller may retry. */
export type StepResult = 'ok' | 'dropped';

export type StepFn = (r: Raft, m: Message) => StepResult;

export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly log: BasicLogger;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = 'follower';
  isLearner = false;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  /** Messages to send, in order; RawNode hands them out (bounded by the node loop draining each Ready). */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Ticks since the last election timeout reset (follower: leader contact; leader: check-quorum round). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Leader: the member leadership is being transferred to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Leader: index of the latest conf change proposed; no new one until it is applied. */
  pendingConfIndex = 0;
  /** Leader: payload bytes appended and not yet committed+applied (bounded by maxUncommittedEntriesBytes). */
  uncommittedBytes = 0;
  readOnly: ReadOnly;
  /** Leader: read requests waiting for the first commit of this term (bounded by maxPendingReadIndex). */
  pendingReadIndexMessages: Message[] = [];
  /** The role's step function: stepFollower, stepCandidate or stepLeader. */
  stepRole: StepFn = stepFollower;
  tick: () => void = () => this.tickElection();

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.log = this.cfg.logger;
    this.raftLog = new RaftLog(this.cfg.storage, this.cfg.maxApplyingBytes);
    this.trk = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    this.readOnly = new ReadOnly(this.cfg.maxPendingReadIndex);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.switchToConfig(confState);
    this.loadState(hardState);
    if (this.cfg.applied > 0) this.raftLog.appliedTo(this.cfg.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit <= this.raftLog.lastIndex(),
      `raft: durable commit ${hs.commit} beyond last index ${this.raftLog.lastIndex()}`,
    );
    this.raftLog.commitTo(hs.commit);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** A voter may campaign; learners and removed members may not. */
  promotable(): boolean {
    return this.trk.isVoter(this.id);
  }

  // ---- role transitions ------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, `raft: term never decreases (${this.term} -> ${term})`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    for (const [id, old] of this.trk.progress) {
      // Our own match starts at 0 too: it only advances when entries are durable (advance()).
      this.trk.progress.set(id, this.trk.newProgress(next, old.isLearner));
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly(this.cfg.maxPendingReadIndex);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepRole = stepFollower;
    this.reset(term);
    this.tick = () => this.tickElection();
    this.lead = lead;
    this.state = 'follower';
    this.log.info(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== 'leader', 'raft: a leader never becomes candidate directly');
    this.stepRole = stepCandidate;
    this.reset(this.term + 1);
    this.tick = () => this.tickElection();
    this.vote = this.id;
    this.state = 'candidate';
    this.log.info(`${this.id} became candidate at term ${this.term}`);
  }

  /** Pre-vote (thesis §9.6): ask first whether we could win, without disturbing anyone's term. */
  becomePreCandidate(): void {
    assert(this.state !== 'leader', 'raft: a leader never becomes pre-candidate');
    this.stepRole = stepCandidate;
    this.trk.resetVotes();
    this.tick = () => this.tickElection();
    this.lead = NONE;
    this.state = 'preCandidate';
    this.log.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== 'follower', 'raft: only a candidate becomes leader');
    this.stepRole = stepLeader;
    this.reset(this.term);
    this.tick = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = 'leader';
    const self = this.trk.progress.get(this.id);
    self?.becomeReplicate();
    if (self) self.recentActive = true; // we hear ourselves
    // Conservatively treat the whole log as possibly holding an unapplied conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of our term: committing it commits everything before it (§5.4.2, §8).
    const accepted = this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }]);
    assert(accepted, 'raft: a new leader always accepts its empty entry');
    this.log.info(`${this.id} became leader at term ${this.term}`);
  }

  // ---- time ------------------------------------------------------------------------------

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random.int(this.cfg.electionTicks);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private tickElection(): void {
    this.electionElapsed++;
    // A lone voter has nobody to wait for: it elects itself at once, without an election timeout.
    const alone = this.trk.isSingleton() && this.lead === NONE;
    if (this.promotable() && (alone || this.pastElectionTimeout())) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: 'MsgHup', from: this.id }));
      return;
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(newMessage({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout has failed: accept proposals again.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: 'MsgBeat', from: this.id }));
    }
  }

  // ---- messages --------------------------------------------------------------------------

  /** Queues a message, stamping sender and term. */
  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      // Votes carry the term of the election, which (for pre-votes) is not our term.
      assert(m.term !== 0, `raft: ${m.type} must carry a term`);
    } else {
      assert(m.term === 0, `raft: ${m.type} term is set by send()`);
      // Forwarded proposals and read requests are treated as local at the leader.
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Handles one message: term bookkeeping shared by all roles, then the role's step function. */
  step(m: Message): StepResult {
    if (m.term > this.term) {
      if (this.ignoresHigherTerm(m)) return 'ok';
    } else if (m.term > 0 && m.term < this.term) {
      this.respondToStaleTerm(m);
      return 'ok';
    }
    switch (m.type) {
      case 'MsgHup':
        hup(this, this.cfg.preVote ? 'preElection' : 'election');
        return 'ok';
      case 'MsgVote':
      case 'MsgPreVote':
        this.handleVoteRequest(m);
        return 'ok';
      default:
        return this.stepRole(this, m);
    }
  }

  /** Returns true when the message must be ignored; otherwise adopts the higher term as needed. */
  private ignoresHigherTerm(m: Message): boolean {
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      const force = m.context === CAMPAIGN_TRANSFER;
      // Leader lease (check-quorum): while we hear from a leader, a disruptive candidate (for
      // example a node back from a partition) must not depose it.
      const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTicks;
      if (!force && inLease) {
        this.log.info(
          `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote || 0}] ignored ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired`,
        );
        return true;
      }
    }
    if (m.type === 'MsgPreVote' || (m.type === 'MsgPreVoteResp' && !m.reject)) {
      // A pre-vote is about a future term: it changes nobody's term. A granted pre-vote response
      // carries that future term; we adopt it only when we really campaign.
      return false;
    }
    this.log.info(
      `${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`,
    );
    const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
    this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    return false;
  }

  private respondToStaleTerm(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
      // A stale leader (for example one that was partitioned) learns our term from this and
      // steps down; without it, with check-quorum or pre-vote, it could never learn it.
      this.send(newMessage({ type: 'MsgAppResp', to: m.from }));
    } else if (m.type === 'MsgPreVote') {
      this.send(newMessage({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true }));
    } else {
      this.log.debug(
        `${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`,
      );
    }
  }

  private handleVoteRequest(m: Message): void {
    // We can vote if we already voted for them (a duplicate), if we have no vote and know no
    // leader this term, or if it is a pre-vote for a later term.
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'MsgPreVote' && m.term > this.term);
    const respType = voteResponseType(m.type);
    const status = `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote || 0}]`;
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm) && !this.goesFirst(m)) {
      this.log.info(
        `${status} cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      // The response carries the request's term: for a pre-vote that is the future term.
      this.send(newMessage({ type: respType, to: m.from, term: m.term }));
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.log.info(
        `${status} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      this.send(newMessage({ type: respType, to: m.from, term: this.term, reject: true }));
    }
  }

  /**
   * Whether this pre-candidate goes before `m`'s, for the same term: two pre-candidates that
   * grant each other both campaign, vote for themselves and split the vote, which costs a
   * second election round. Between pre-candidates the one with the more up-to-date log goes
   * first, and with alike logs the lower ID. A pre-vote decides no term and no vote, so
   * refusing one changes only who campaigns, never what is safe.
   */
  private goesFirst(m: Message): boolean {
    if (m.type !== 'MsgPreVote' || this.state !== 'preCandidate' || m.term !== this.term + 1) return false;
    const ourLogIsAsGood =
      m.logTerm < this.raftLog.lastTerm() ||
      (m.logTerm === this.raftLog.lastTerm() && m.index <= this.raftLog.lastIndex());
    return ourLogIsAsGood && this.id < m.from;
  }

  // ---- the log ---------------------------------------------------------------------------

  /** Leader: appends entries of the current term. False if the uncommitted-bytes bound refuses them. */
  appendEntry(es: readonly Entry[]): boolean {
    const last = this.raftLog.lastIndex();
    const stamped = es.map((e, i) => ({ ...e, term: this.term, index: last + 1 + i }));
    const bytes = entriesBytes(stamped);
    // Always accept when nothing is uncommitted, so one oversized proposal can still pass.
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedEntriesBytes) {
      this.log.debug(
        `${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`,
      );
      return false;
    }
    this.uncommittedBytes += bytes;
    this.raftLog.append(stamped);
    // Our own acknowledgement comes once the entries are durable: see onEntriesPersisted().
    return true;
  }

  /** The entries up to (index, term) are durable here. A leader counts itself toward commit only now. */
  onEntriesPersisted(index: number, term: number): void {
    if (this.state !== 'leader' || !this.raftLog.matchTerm(index, term)) return;
    const self = this.trk.progress.get(this.id);
    if (self?.maybeUpdate(index) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      bcastAppend(this);
    }
  }

  reduceUncommittedBytes(applied: readonly Entry[]): void {
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entriesBytes(applied));
  }

  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---- leadership transfer and reads -----------------------------------------------------

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: 'MsgTimeoutNow', to }));
  }

  /** Answers a confirmed read: locally as a ReadState, or to the follower that forwarded it. */
  respondToReadIndex(request: Message, readIndex: number): void {
    if (request.from === NONE || request.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: request.context });
    } else {
      this.send(newMessage({ type: 'MsgReadIndexResp', to: request.from, index: readIndex, context: request.context }));
    }
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.stepRole(this, m);
  }

  // ---- configuration ---------------------------------------------------------------------

  /** Applies a committed conf change (the application calls this when it applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const cs = applyToConfState(this.trk.confState(), cc);
    this.switchToConfig(cs);
    return cs;
  }

  switchToConfig(cs: ConfState): void {
    const next = this.raftLog.lastIndex() + 1;
    for (const id of [...this.trk.progress.keys()]) {
      if (!cs.voters.includes(id) && !cs.learners.includes(id)) this.trk.remove(id);
    }
    for (const id of cs.voters) this.trk.addVoter(id, next);
    for (const id of cs.learners) this.trk.addLearner(id, next);
    this.isLearner = this.trk.learners.has(this.id);
    this.log.info(`${this.id} switched to configuration ${describeConfState(this.trk.confState())}`);
    if (this.state !== 'leader') return;
    if (!this.trk.isVoter(this.id)) {
      this.stepDownAfterRemoval();
      return;
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // A smaller quorum may commit more at once; new members need their first append.
    if (this.maybeCommit()) bcastAppend(this);
    else for (const id of this.trk.peers(this.id)) maybeSendAppend(this, id, false);
  }

  /**
   * We led the cluster that just removed (or demoted) us. We cannot lead a configuration we are
   * not a voter of, so we step down, and hand over to a caught-up voter so the cluster does not
   * wait out an election timeout.
   */
  private stepDownAfterRemoval(): void {
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of [...this.trk.voters].sort()) {
      const match = this.trk.progress.get(id)!.match;
      if (match > bestMatch) [best, bestMatch] = [id, match];
    }
    if (best !== NONE && bestMatch === this.raftLog.lastIndex()) {
      this.log.info(`${this.id} was removed from the configuration; hands leadership to ${best}`);
      this.sendTimeoutNow(best);
    } else {
      this.log.info(`${this.id} was removed from the configuration; steps down`);
    }
    this.becomeFollower(this.term, NONE);
  }
}
