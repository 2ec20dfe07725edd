/**
 * The node loop (etcd's raftexample pattern): it owns a RawNode and drives it with ticks,
 * received messages and proposals, and handles each Ready in the order rawnode.ts prescribes:
 * send what may go before persisting, persist the snapshot, entries and hard state with one
 * DiskStorage.save (one fsync), send what needed that, apply committed entries synchronously
 * in order, then advance. While a save is in flight, new proposals and messages are stepped
 * into the core and come out together in the next Ready: one fsync covers all of them, which
 * is where the throughput comes from.
 */
import type { Server } from '@grpc/grpc-js';
import { systemClock, type Clock, type Timer } from '../../../lib/clock.js';
import { TswarmError } from '../../../lib/errors.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import { cryptoRandom } from '../../../lib/random.js';
import { decodeConfChange } from '../core/confchange.js';
import { newMessage, type Message } from '../core/messages.js';
import { ProposalDroppedError, RawNode, type Ready, type SoftState } from '../core/rawnode.js';
import { Applier } from '../core/state-machine.js';
import type { DiskStorage } from '../storage/storage-disk.js';
import type { ConfChange, ConfState, Entry, HardState, NodeId } from '../core/types.js';
export type { NodeStatus, RaftNodeOptions } from './options.js';
import type { DroppedCounts } from '../transport/dropped.js';
import { Transport } from '../transport/transport.js';
import { nodeStopped, NotLeaderError, proposalLost } from './errors.js';
import { HeldCommitAppends } from './held-commit-appends.js';
import { coreLogger, DEFAULTS, stripUndefined, type NodeStatus, type RaftNodeOptions } from './options.js';
import { PendingProposals, PendingReads } from './pending.js';
import { ProposalBatcher } from './proposal-batch.js';
import { openStorage } from './recover.js';
import { encodeSnapshotData, decodeSnapshotData } from './snapshot-data.js';

/** A follower's save of at most this many entries may fsync on the loop (blockingFollowerSync). */
const BLOCKING_SYNC_ENTRIES_MAX = 4;

export class RaftNode<R> {
  readonly id: NodeId;
  private readonly rn: RawNode;
  private readonly applier: Applier<R>;
  private readonly transport: Transport;
  private readonly proposals: PendingProposals<R | ConfState>;
  private readonly reads: PendingReads;
  private readonly batcher: ProposalBatcher<R | ConfState>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cfg: typeof DEFAULTS;
  private ticker: Timer | undefined;
  private loopScheduled = false;
  private loop: Promise<void> | undefined;
  private stopped = false;
  /** A commit-only hard state (mustSync false): written with the next save rather than on its own fsync. */
  private deferredHardState: HardState | undefined;
  private leaderWatchers: { until: (s: SoftState) => boolean; resolve(): void }[] = [];
  /**
   * While this member leads but has not yet said so (onRoleChange): the last index of its log
   * when it became leader — its own term's first entry. Once that is applied, every entry of
   * earlier terms is too, and leader-only components may read the state machine.
   */
  private announceLeadingAtIndex: number | undefined;
  private readonly heldCommitAppends = new HeldCommitAppends();

  private constructor(
    private readonly options: RaftNodeOptions<R>,
    private readonly storage: DiskStorage,
    appliedIndex: number,
    addresses: Map<NodeId, string>,
  ) {
    this.id = options.id;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ raftId: options.id });
    this.cfg = { ...DEFAULTS, ...stripUndefined(options) };
    this.applier = new Applier(options.stateMachine, appliedIndex);
    this.rn = new RawNode({
      id: options.id,
      storage,
      random: options.random ?? cryptoRandom,
      applied: appliedIndex,
      electionTicks: this.cfg.electionTicks,
      heartbeatTicks: this.cfg.heartbeatTicks,
      // A follower never forwards a proposal: propose() refuses on followers with the leader's
      // address (the manager forwards the whole RPC), and no transport of ours takes MsgProp
      // from the network, so a forwarded one would only be lost.
      disableProposalForwarding: true,
      logger: coreLogger(this.logger),
    });
    this.proposals = new PendingProposals(this.clock, this.cfg.pendingProposalsMax, this.cfg.proposalTimeoutMs);
    this.batcher = new ProposalBatcher(this.proposals, this.cfg.pendingProposalsMax, (datas) =>
      this.stepProposalBatch(datas),
    );
    this.reads = new PendingReads(
      this.clock,
      `${options.id}-${Date.now().toString(36)}`,
      this.cfg.pendingReadsMax,
      this.cfg.readTimeoutMs,
    );
    this.transport = new Transport({
      id: options.id,
      credentials: options.credentials,
      clock: this.clock,
      random: options.random ?? cryptoRandom,
      logger: this.logger,
      ...(options.authorizeSender ? { authorizeSender: options.authorizeSender } : {}),
      ...(options.transportLimits ? { limits: options.transportLimits } : {}),
      handler: {
        receive: (m) => this.receive(m),
        unreachable: (to) => this.whileRunning(() => this.rn.reportUnreachable(to)),
        snapshotStatus: (to, s) => this.whileRunning(() => this.rn.reportSnapshot(to, s)),
      },
    });
    for (const [id, addr] of addresses) this.transport.setPeer(id, addr);
  }

  /** Opens (or bootstraps) the member's storage and starts ticking. Register the service, then listen. */
  static async start<R>(options: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const logger = options.logger ?? silentLogger();
    const rec = await openStorage(options.raftDir, options.members, options.stateMachine, logger, options.join);
    const node = new RaftNode(options, rec.storage, rec.appliedIndex, rec.addresses);
    node.startTicking();
    const cs = node.rn.status().confState;
    // A single-voter cluster has nobody to wait for: it elects itself at once, without a timeout.
    if (cs.voters.length === 1 && cs.voters[0] === node.id) node.campaign();
    return node;
  }

  /** Adds the Raft transport's service to a gRPC server the caller owns and binds. */
  registerService(server: Server): void {
    this.transport.register(server);
  }

  private startTicking(): void {
    const tick = () => {
      if (this.stopped) return;
      this.sendHeldCommitAppends();
      this.sendDueReads();
      this.rn.tick();
      this.schedule();
      this.ticker = this.clock.setTimer(this.cfg.tickMs, tick);
    };
    this.ticker = this.clock.setTimer(this.cfg.tickMs, tick);
  }

  private receive(m: Message): void {
    this.whileRunning(() => this.rn.step(m));
  }

  private whileRunning(fn: () => void): void {
    if (this.stopped) return;
    fn();
    this.schedule();
  }

  /** Runs the Ready loop soon (after the current I/O callbacks, so that they batch into one Ready). */
  private schedule(): void {
    if (this.loopScheduled || this.loop || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      this.startLoop();
    });
  }

  /** Runs the Ready loop now unless it is running already. */
  private startLoop(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.runReadyLoop().finally(() => {
      this.loop = undefined;
      // Work that arrived from a microtask after the loop's last check would otherwise wait for the next tick.
      if (!this.stopped && this.rn.hasReady()) this.schedule();
    });
  }

  private async runReadyLoop(): Promise<void> {
    try {
      while (!this.stopped && this.rn.hasReady()) await this.handleReady(this.rn.ready());
    } catch (err) {
      // A failed fsync leaves the disk in doubt: the member must stop rather than guess.
      this.logger.error({ err }, 'raft: the node loop failed; stopping this member');
      this.stop().catch((stopErr: unknown) =>
        this.logger.error({ err: stopErr }, 'raft: stopping after a failure failed too'),
      );
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.transport.send(
      this.heldCommitAppends.filter(rd.messages, (to) => this.rn.raft.trk.progress.get(to)?.state === 'replicate'),
    );
    if (rd.snapshot) {
      await this.persist(rd);
      this.restoreSnapshot(rd.snapshot.metadata.index, rd.snapshot.data);
      this.applyCommitted(rd);
    } else {
      // Committed entries are durable on a quorum already, so they may be applied (and their
      // proposers answered) while this Ready's new entries are being written (etcd does the
      // same): under load that takes a whole fsync off every write's latency.
      const persisted = this.persist(rd);
      try {
        this.applyCommitted(rd);
      } finally {
        await persisted;
      }
    }
    this.transport.send(rd.messagesAfterPersist);
    if (rd.softState) this.onSoftState(rd.softState);
    this.announceLeadershipOnceCaughtUp();
    this.rn.advance();
    await this.maybeSnapshot();
  }

  /** Sends what the last Readys held back (HeldCommitAppends), if still leading. */
  private sendHeldCommitAppends(): void {
    const due = this.heldCommitAppends.takeAll();
    if (due.length > 0 && this.rn.softState().raftState === 'leader') this.transport.send(due);
  }

  private applyCommitted(rd: Ready): void {
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) this.reads.confirmed(rs.requestCtx, rs.index);
    this.reads.serve(this.applier.appliedIndex);
  }

  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshot) {
      await this.storage.applySnapshot(rd.snapshot, rd.hardState ?? this.deferredHardState ?? null);
      this.deferredHardState = undefined;
      if (rd.entries.length > 0) await this.storage.save(null, rd.entries);
      return;
    }
    if (rd.entries.length === 0 && !rd.mustSync) {
      // Only the commit index moved: it need not be durable (a restart recomputes it from the
      // leader), so it rides along with the next write instead of costing an fsync of its own.
      if (rd.hardState) this.deferredHardState = rd.hardState;
      return;
    }
    // Only small saves (light load): under load a big batch's fsync should overlap the next
    // messages' arrival, which a blocked loop cannot read.
    const blockingSync =
      this.options.blockingFollowerSync === true &&
      rd.entries.length <= BLOCKING_SYNC_ENTRIES_MAX &&
      this.rn.softState().raftState !== 'leader';
    await this.storage.save(rd.hardState ?? this.deferredHardState ?? null, rd.entries, { blockingSync });
    this.deferredHardState = undefined;
  }

  private restoreSnapshot(index: number, data: Uint8Array): void {
    const { addresses, stateMachineData } = decodeSnapshotData(data);
    this.applier.restore(index, stateMachineData);
    for (const [id, addr] of addresses) this.transport.setPeer(id, addr);
    this.logger.info({ index }, 'raft: restored the state machine from a snapshot');
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applier.appliedIndex) return; // covered by a snapshot restored in this Ready
    if (e.type === 'confChange') {
      this.applier.apply(e);
      const cc = decodeConfChange(e.data);
      const cs = this.rn.applyConfChange(cc);
      this.applyToAddressBook(cc);
      this.logger.info({ change: cc, voters: cs.voters, learners: cs.learners }, 'raft: applied a membership change');
      this.proposals.applied(e.index, e.term, cs);
      return;
    }
    const result = this.applier.apply(e);
    this.proposals.applied(e.index, e.term, result as R);
  }

  private applyToAddressBook(cc: ConfChange): void {
    if (cc.type === 'remove') {
      if (cc.nodeId !== this.id) this.transport.removePeer(cc.nodeId);
    } else if (cc.addr !== '') {
      this.transport.setPeer(cc.nodeId, cc.addr);
    }
  }

  private onSoftState(s: SoftState): void {
    if (s.raftState !== 'leader') {
      this.proposals.rejectAll(proposalLost('was pending when this member stopped leading'));
      this.heldCommitAppends.clear();
    }
    this.reads.rejectUnconfirmed(
      new TswarmError('UNAVAILABLE', 'raft: the leader changed before confirming this read. Retry it'),
    );
    this.leaderWatchers = this.leaderWatchers.filter((w) => {
      if (!w.until(s)) return true;
      w.resolve();
      return false;
    });
    this.logger.info({ leader: s.lead, role: s.raftState, term: this.rn.raft.term }, 'raft: leader or role changed');
    if (s.raftState === 'leader') {
      this.announceLeadingAtIndex ??= this.rn.raft.raftLog.lastIndex();
      return;
    }
    this.announceLeadingAtIndex = undefined;
    this.options.onRoleChange?.({ leading: false, term: this.rn.raft.term });
  }

  /**
   * A new leader's log may end with entries of earlier terms it has not applied: it learns they
   * are committed only when its own term's first entry commits. Leader-only components started
   * before then would plan from a stale state — an orchestrator would make a second task for
   * every slot its predecessor had just made — so leadership is announced once that entry is
   * applied (SwarmKit's node waits the same way before it signals IsLeader).
   */
  private announceLeadershipOnceCaughtUp(): void {
    const at = this.announceLeadingAtIndex;
    if (at === undefined || this.applier.appliedIndex < at) return;
    this.announceLeadingAtIndex = undefined;
    if (this.rn.softState().raftState !== 'leader') return;
    this.logger.info({ term: this.rn.raft.term, applied: at }, 'raft: caught up as leader; leader-only work may start');
    this.options.onRoleChange?.({ leading: true, term: this.rn.raft.term });
  }

  private async maybeSnapshot(): Promise<void> {
    const applied = this.applier.appliedIndex;
    const snapIndex = this.storage.snapshot().metadata.index;
    const everyEntries = this.options.snapshotEveryEntriesNow?.() || this.cfg.snapshotEveryEntries;
    if (applied - snapIndex < everyEntries) return;
    const data = encodeSnapshotData(this.transport.addressBook(), this.options.stateMachine.snapshot());
    await this.storage.createSnapshot(applied, this.rn.status().confState, data);
    this.storage.compact(Math.max(snapIndex, applied - this.cfg.compactionLagEntries));
    this.logger.info({ index: applied, bytes: data.length }, 'raft: took a snapshot and compacted the log');
  }

  /** Proposes a command; resolves with its result once applied here. Only the leader accepts. */
  propose(data: Uint8Array): Promise<R> {
    if (this.stopped) return Promise.reject(nodeStopped());
    const soft = this.rn.softState();
    if (soft.raftState !== 'leader') return Promise.reject(this.notLeader(soft.lead));
    return this.batcher.add(data) as Promise<R>;
  }

  /** Steps a batch of proposals as one MsgProp (ProposalBatcher); throws if it cannot enter the log. */
  private stepProposalBatch(datas: Uint8Array[]): { lastIndex: number; term: number } {
    if (this.stopped) throw nodeStopped();
    const soft = this.rn.softState();
    // Leadership may have moved since propose(): a follower would forward the batch untracked.
    if (soft.raftState !== 'leader') throw this.notLeader(soft.lead);
    const entries = datas.map((data) => ({ term: 0, index: 0, type: 'normal' as const, data }));
    // RawNode.propose takes one entry; the core's MsgProp takes many (see the report on the core).
    if (this.rn.raft.step(newMessage({ type: 'MsgProp', from: this.id, entries })) === 'dropped') {
      throw new TswarmError('UNAVAILABLE', new ProposalDroppedError('proposal').message);
    }
    // The batcher already waited out a turn of the event loop to gather this batch: waiting
    // another (schedule) would only delay it. A microtask runs once the batcher has registered
    // the batch's waiters, still in this turn.
    queueMicrotask(() => this.startLoop());
    return { lastIndex: this.rn.raft.raftLog.lastIndex(), term: this.rn.raft.term };
  }

  /** Proposes a membership change; resolves with the new configuration once applied here. */
  proposeConfChange(cc: ConfChange): Promise<ConfState> {
    if (this.stopped) return Promise.reject(nodeStopped());
    const soft = this.rn.softState();
    if (soft.raftState !== 'leader') return Promise.reject(this.notLeader(soft.lead));
    try {
      this.proposals.checkCapacity();
      this.rn.proposeConfChange(cc);
    } catch (err) {
      if (err instanceof ProposalDroppedError)
        return Promise.reject(new TswarmError('UNAVAILABLE', err.message, { cause: err }));
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // The leader appended the entry at the end of its log in this term, synchronously.
    const result = this.proposals.add(this.rn.raft.raftLog.lastIndex(), this.rn.raft.term);
    this.schedule();
    return result as Promise<ConfState>;
  }

  /**
   * Resolves once a linearizable read may be served from the local state machine. Without a
   * leader it fails at once, and a leader change fails the reads it had not confirmed: the caller
   * retries (an election is short, and a read held across it would hold its caller). A request
   * or its answer lost while the leader stays is asked again (sendDueReads).
   */
  readIndex(): Promise<void> {
    if (this.stopped) return Promise.reject(nodeStopped());
    if (this.rn.softState().lead === '') return Promise.reject(this.notLeader(''));
    try {
      this.reads.checkCapacity();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const ctx = this.reads.nextCtx();
    const done = this.reads.add(
      ctx,
      () =>
        new TswarmError('DEADLINE_EXCEEDED', `raft: read not confirmed within ${this.cfg.readTimeoutMs} ms. Retry it`),
    );
    this.sendDueReads();
    this.schedule();
    return done;
  }

  /** Asks the leader to confirm every read never sent or unanswered for readResendMs. */
  private sendDueReads(): void {
    if (this.rn.softState().lead === '') return;
    for (const ctx of this.reads.dueForSending(this.cfg.readResendMs)) {
      try {
        this.rn.readIndex(ctx);
        this.reads.sent(ctx);
      } catch (err) {
        // Dropped by the core (a candidate, say): it stays due and goes with the next tick.
        if (!(err instanceof ProposalDroppedError)) throw err;
      }
    }
  }

  /** Asks the leader (this member) to hand over to `to`; resolves once `to` leads, or rejects after timeoutMs. */
  transferLeadership(to: NodeId, timeoutMs = 5000): Promise<void> {
    if (this.stopped) return Promise.reject(nodeStopped());
    // A follower would forward MsgTransferLeader, which no transport of ours accepts.
    const soft = this.rn.softState();
    if (soft.raftState !== 'leader') return Promise.reject(this.notLeader(soft.lead));
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.leaderWatchers = this.leaderWatchers.filter((w) => w !== watcher);
        reject(new TswarmError('DEADLINE_EXCEEDED', `raft: leadership did not move to ${to} within ${timeoutMs} ms`));
      });
      const watcher = { until: (s: SoftState) => s.lead === to, resolve: () => (timer.cancel(), resolve()) };
      this.leaderWatchers.push(watcher);
      this.rn.transferLeadership(to);
      this.schedule();
    });
  }

  /** Starts an election now (bootstrap of a single voter; tests). */
  campaign(): void {
    this.whileRunning(() => this.rn.campaign());
  }

  status(): NodeStatus {
    const st = this.rn.status();
    return {
      id: this.id,
      term: st.hardState.term,
      leader: st.softState.lead,
      leaderAddr: st.softState.lead === '' ? undefined : this.transport.address(st.softState.lead),
      role: st.softState.raftState,
      commit: st.hardState.commit,
      applied: this.applier.appliedIndex,
      voters: st.confState.voters,
      learners: st.confState.learners,
    };
  }

  /**
   * Where `id` stands in this member's current configuration (the ConfState it has applied).
   * Cheap enough to ask for every message received: the transport's authorizer does.
   */
  seatOf(id: NodeId): 'voter' | 'learner' | undefined {
    const trk = this.rn.raft.trk;
    if (trk.voters.has(id)) return 'voter';
    return trk.learners.has(id) ? 'learner' : undefined;
  }

  /** The index the state machine has applied up to (cheap: no copy of the status). */
  appliedIndex(): number {
    return this.applier.appliedIndex;
  }

  /** Messages the transport dropped before this member saw them, by reason. */
  droppedMessages(): DroppedCounts {
    return this.transport.droppedMessages();
  }

  notLeader(leaderId: NodeId): NotLeaderError {
    return new NotLeaderError(leaderId, leaderId === '' ? undefined : this.transport.address(leaderId));
  }

  /** Where the members this member knows are (its transport's address book), itself included. */
  peerAddresses(): Map<NodeId, string> {
    return this.transport.addressBook();
  }

  /** Teaches the transport where members are, e.g. a joining member told by the leader. */
  learnPeerAddresses(addresses: ReadonlyMap<NodeId, string>): void {
    for (const [id, addr] of addresses) if (id !== this.id && addr !== '') this.transport.setPeer(id, addr);
  }

  /**
   * On the leader: true once a learner has replicated everything committed, so promoting it to
   * voter does not make the quorum wait for a member still catching up (false elsewhere).
   */
  learnerCaughtUp(id: NodeId): boolean {
    const st = this.rn.status();
    const progress = st.progress.get(id);
    return progress !== undefined && st.confState.learners.includes(id) && progress.match >= st.hardState.commit;
  }

  /**
   * The voter to hand leadership to (this member leading): one that answered in the current
   * check-quorum round before one that did not (likely down), then the highest match index, so
   * the transfer needs the fewest entries; ties by ID, for determinism. Undefined if none.
   */
  leadershipHeir(): NodeId | undefined {
    const st = this.rn.status();
    const others = st.confState.voters.filter((v) => v !== this.id);
    const rank = (id: NodeId) => {
      const pr = st.progress.get(id);
      return { active: pr?.recentActive ? 1 : 0, match: pr?.match ?? 0 };
    };
    return others.sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      return rb.active - ra.active || rb.match - ra.match || a.localeCompare(b);
    })[0];
  }

  /** For tests: the last index the snapshot covers. */
  snapshotIndex(): number {
    return this.storage.snapshot().metadata.index;
  }

  /** Stops ticking and sending, waits for the Ready in progress, then closes the storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A stopped member leads no more: its leader-only components must not go on proposing.
    if (this.rn.softState().raftState === 'leader')
      this.options.onRoleChange?.({ leading: false, term: this.rn.raft.term });
    this.ticker?.cancel();
    this.transport.close();
    await this.loop?.catch(() => undefined);
    const err = nodeStopped();
    this.batcher.rejectAll(err);
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
    try {
      if (this.deferredHardState) await this.storage.save(this.deferredHardState, []);
    } finally {
      await this.storage.close();
    }
  }
}
