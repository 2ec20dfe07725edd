/**
 * RawNode: the API the node loop drives. The processing loop (as etcd-io/raft doc.go describes it):
 *
 *   every tick interval:      node.tick()
 *   for each message received: node.step(msg)
 *   to propose:               node.propose(data) / proposeConfChange(cc) / readIndex(ctx) / transferLeadership(id)
 *   while node.hasReady():
 *     const rd = node.ready()
 *     1. send rd.messages (may go out before persisting: a leader's appends/heartbeats/snapshots)
 *     2. persist, in this order, durably (fsync): rd.snapshot (replaces the log), rd.entries
 *        (append, truncating any conflicting suffix from entries[0].index), rd.hardState
 *     3. send rd.messagesAfterPersist (votes, append acknowledgements: they promise durability)
 *     4. if rd.snapshot: restore the state machine from it
 *     5. apply rd.committedEntries in order; for a confChange entry call node.applyConfChange(cc)
 *     6. serve reads whose rd.readStates[i].index <= applied
 *     7. node.advance()
 *
 * ready() must be followed by advance() before the next ready(); step/tick/propose may be called
 * in between (their effects appear in the next Ready).
 */
import { assert } from '../../../lib/assert.js';
import type { RaftConfig } from './config.js';
import { encodeConfChange } from './confchange.js';
import { isLocalMessage, isResponse, newMessage, type Message } from './messages.js';
import type { Progress } from './progress.js';
import { Raft, type StateType } from './raft.js';
import type { ReadState } from './read-only.js';
import { type ConfChange, type ConfState, type Entry, type HardState, type NodeId, type Snapshot } from './types.js';

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

export interface Ready {
  /** Set when leader or role changed since the last Ready. Need not be persisted. */
  softState: SoftState | undefined;
  /** Set when term, vote or commit changed: persist it. */
  hardState: HardState | undefined;
  /** Entries to append to durable storage. */
  entries: Entry[];
  /** A snapshot from the leader to persist (replacing the log) and restore the state machine from. */
  snapshot: Snapshot | undefined;
  /** Committed entries to apply, in order. They are durable once this Ready's writes are. */
  committedEntries: Entry[];
  /** Messages that may be sent before this Ready is persisted. */
  messages: Message[];
  /** Messages that may only be sent once this Ready's snapshot, entries and hard state are durable. */
  messagesAfterPersist: Message[];
  /** Confirmed read requests: serve each once applied >= index. */
  readStates: ReadState[];
  /** Whether the writes must be synced (fsync) before messagesAfterPersist go out. */
  mustSync: boolean;
}

export class ProposalDroppedError extends Error {
  readonly code = 'RAFT_PROPOSAL_DROPPED';
  constructor(what: string) {
    super(`raft: ${what} dropped (no leader, leadership transfer in progress, or limits reached); retry later`);
  }
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: NodeId;
  /** The leader's view of every member's progress; empty on other roles. */
  progress: Map<NodeId, Progress>;
  confState: ConfState;
}

// Only a leader sends these, and they promise nothing about our own durable state (thesis
// §10.2.1: the leader may write its log in parallel with replicating it).
const SENDABLE_BEFORE_PERSIST = new Set(['MsgApp', 'MsgHeartbeat', 'MsgSnap', 'MsgTimeoutNow']);

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (for tests and bootstrap; tick() does this on election timeout). */
  campaign(): void {
    this.raft.step(newMessage({ type: 'MsgHup', from: this.raft.id }));
  }

  /** Proposes a command. Throws ProposalDroppedError when it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.stepLocal(newMessage({ type: 'MsgProp', from: this.raft.id, entries: [entry('normal', data)] }), 'proposal');
  }

  proposeConfChange(cc: ConfChange): void {
    const m = newMessage({ type: 'MsgProp', from: this.raft.id, entries: [entry('confChange', encodeConfChange(cc))] });
    this.stepLocal(m, 'conf change');
  }

  /** Applies a committed conf change; call it when applying its entry. Returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeadership(transferee: NodeId): void {
    this.raft.step(newMessage({ type: 'MsgTransferLeader', from: transferee }));
  }

  /** Requests a linearizable read; a ReadState with this ctx appears in a later Ready. ctx must be unique. */
  readIndex(ctx: string): void {
    assert(ctx !== '', 'rawnode: a read request needs a non-empty context');
    this.stepLocal(newMessage({ type: 'MsgReadIndex', from: this.raft.id, context: ctx }), 'read request');
  }

  private stepLocal(m: Message, what: string): void {
    if (this.raft.step(m) === 'dropped') throw new ProposalDroppedError(what);
  }

  /** Steps a message received from a peer. */
  step(m: Message): void {
    // Local messages never come from the network: a peer must not be able to fake our timers.
    if (isLocalMessage(m.type)) return;
    // Responses from peers we do not track are stale (removed members): ignore them.
    if (isResponse(m.type) && !this.raft.trk.progress.has(m.from) && this.raft.state === 'leader') return;
    this.raft.step(m);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: 'MsgUnreachable', from: id }));
  }

  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    this.raft.step(newMessage({ type: 'MsgSnapStatus', from: id, reject: status === 'failure' }));
  }

  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    return (
      !sameSoftState(this.softState(), this.prevSoftState) ||
      !sameHardState(r.hardState(), this.prevHardState) ||
      r.raftLog.unstable.snapshot !== undefined ||
      r.raftLog.unstableEntries().length > 0 ||
      r.msgs.length > 0 ||
      r.raftLog.hasNextCommittedEntries() ||
      r.readStates.length > 0
    );
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'rawnode: ready() called again before advance()');
    const r = this.raft;
    const soft = this.softState();
    const hard = r.hardState();
    const hardChanged = !sameHardState(hard, this.prevHardState);
    // A new term or vote must be durable before anything carrying it leaves, else after a crash
    // we could act twice in one term (vote twice, or lead twice with different entries).
    const termOrVoteChanged = hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote;
    const messages: Message[] = [];
    const messagesAfterPersist: Message[] = [];
    for (const m of r.msgs) {
      if (!termOrVoteChanged && SENDABLE_BEFORE_PERSIST.has(m.type)) messages.push(m);
      else messagesAfterPersist.push(m);
    }
    const rd: Ready = {
      softState: sameSoftState(soft, this.prevSoftState) ? undefined : soft,
      hardState: hardChanged ? hard : undefined,
      entries: [...r.raftLog.unstableEntries()],
      snapshot: r.raftLog.unstable.snapshot,
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages,
      messagesAfterPersist,
      readStates: r.readStates,
      mustSync: false,
    };
    rd.mustSync = termOrVoteChanged || rd.entries.length > 0 || rd.snapshot !== undefined;
    r.msgs = [];
    r.readStates = [];
    this.prevSoftState = soft;
    this.outstanding = rd;
    return rd;
  }

  /** The last Ready was persisted, sent and applied. */
  advance(): void {
    const rd = this.outstanding;
    assert(rd !== undefined, 'rawnode: advance() without a ready()');
    const log = this.raft.raftLog;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      log.appliedTo(Math.max(log.applied, rd.snapshot.metadata.index));
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) {
      log.stableTo(lastEntry.index, lastEntry.term);
      this.raft.onEntriesPersisted(lastEntry.index, lastEntry.term);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied && lastApplied.index > log.applied) {
      log.appliedTo(lastApplied.index);
      this.raft.reduceUncommittedBytes(rd.committedEntries);
    }
    this.outstanding = undefined;
  }

  softState(): SoftState {
    return { lead: this.raft.lead, raftState: this.raft.state };
  }

  status(): Status {
    const r = this.raft;
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: this.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      progress: r.state === 'leader' ? new Map(r.trk.progress) : new Map<string, Progress>(),
      confState: r.trk.confState(),
    };
  }
}

function entry(type: Entry['type'], data: Uint8Array): Entry {
  return { term: 0, index: 0, type, data };
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
