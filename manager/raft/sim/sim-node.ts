/**
 * One simulated member: a RawNode driven exactly as the production node loop must drive it
 * (rawnode.ts): send `messages` at once, write to the disk, and only once the write is synced
 * (a later tick) send `messagesAfterPersist`, apply, and advance. Messages keep arriving while
 * the sync is in flight. A crash loses the process and the unsynced writes; a restart reads
 * back only what the disk made durable.
 */
import type { Random } from '../../../lib/random.js';
import { decodeConfChange } from '../core/confchange.js';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import { decodeKvCommand, type KvCommand, type KvResult } from '../kv/commands.js';
import type { Message } from '../core/messages.js';
import type { MemoryStorage } from '../core/memory-storage.js';
import { RawNode, type Ready } from '../core/rawnode.js';
import { Applier } from '../core/state-machine.js';
import type { Entry, NodeId } from '../core/types.js';
import { SimDisk } from './disk.js';

export interface NodeHooks {
  send(from: SimNode, m: Message): void;
  applied(node: SimNode, entry: Entry, cmd: KvCommand | undefined, result: KvResult | undefined): void;
  readServed(node: SimNode, ctx: string, index: number): void;
  persisted(node: SimNode, entries: readonly Entry[]): void;
}

export interface NodeOptions {
  electionTicks: number;
  /** Take a local snapshot and compact once this many entries were applied since the last one. */
  snapshotEveryEntries: number;
  /** Entries kept behind a snapshot, so slightly lagging followers need no snapshot. */
  compactionLagEntries: number;
  maxSizePerMsgBytes: number;
  maxInflightMsgs: number;
}

export class SimNode {
  rn!: RawNode;
  storage!: MemoryStorage;
  applier!: Applier<KvResult>;
  sm!: KvStateMachine;
  up = false;
  private inflight: { rd: Ready; syncAt: number } | undefined;
  /** Confirmed reads waiting for apply to reach their index (bounded by the clients' reads). */
  private readsWaiting: { index: number; ctx: string }[] = [];

  constructor(
    readonly id: NodeId,
    readonly disk: SimDisk,
    private readonly random: Random,
    private readonly options: NodeOptions,
    private readonly hooks: NodeHooks,
  ) {}

  start(): void {
    const { storage, snapshot } = this.disk.load();
    this.storage = storage;
    this.sm = new KvStateMachine();
    this.applier = new Applier(this.sm, 0);
    this.applier.restore(snapshot.metadata.index, snapshot.data);
    this.rn = new RawNode({
      id: this.id,
      storage,
      random: this.random,
      applied: snapshot.metadata.index,
      electionTicks: this.options.electionTicks,
      maxSizePerMsgBytes: this.options.maxSizePerMsgBytes,
      maxInflightMsgs: this.options.maxInflightMsgs,
    });
    this.inflight = undefined;
    this.readsWaiting = [];
    this.up = true;
  }

  crash(): void {
    this.disk.crash(this.random);
    this.up = false;
    this.inflight = undefined;
  }

  step(m: Message): void {
    if (this.up) this.rn.step(m);
  }

  /** Drives the Ready cycle for this tick. */
  process(now: number): void {
    if (!this.up) return;
    // Bounded: a few Ready cycles per tick is plenty; the rest waits for the next tick.
    for (let round = 0; round < 4; round++) {
      if (this.inflight) {
        if (this.inflight.syncAt > now) return;
        this.finishReady(this.inflight.rd);
        this.inflight = undefined;
      }
      if (!this.rn.hasReady()) return;
      this.startReady(now);
    }
  }

  private startReady(now: number): void {
    const rd = this.rn.ready();
    for (const m of rd.messages) this.hooks.send(this, m);
    // The process sees its own writes at once (page cache); they are durable only after sync.
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      this.disk.write({ kind: 'snapshot', snapshot: rd.snapshot });
    }
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries);
      this.disk.write({ kind: 'entries', entries: rd.entries });
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.disk.write({ kind: 'hardState', hardState: rd.hardState });
    }
    this.inflight = { rd, syncAt: now + (rd.mustSync ? this.random.int(3) : 0) };
  }

  private finishReady(rd: Ready): void {
    this.disk.sync();
    this.hooks.persisted(this, rd.entries);
    for (const m of rd.messagesAfterPersist) this.hooks.send(this, m);
    if (rd.snapshot) this.applier.restore(rd.snapshot.metadata.index, rd.snapshot.data);
    for (const e of rd.committedEntries) this.applyEntry(e);
    this.readsWaiting.push(...rd.readStates.map((rs) => ({ index: rs.index, ctx: rs.requestCtx })));
    this.serveReads();
    this.rn.advance();
    this.maybeCompact();
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applier.appliedIndex) return; // covered by a snapshot restored meanwhile
    const result = this.applier.apply(e);
    if (e.type === 'confChange') {
      this.rn.applyConfChange(decodeConfChange(e.data));
      this.hooks.applied(this, e, undefined, undefined);
      return;
    }
    const cmd = e.data.length > 0 ? decodeKvCommand(e.data) : undefined;
    this.hooks.applied(this, e, cmd, result);
  }

  private serveReads(): void {
    const stillWaiting: { index: number; ctx: string }[] = [];
    for (const r of this.readsWaiting) {
      if (r.index <= this.applier.appliedIndex) this.hooks.readServed(this, r.ctx, r.index);
      else stillWaiting.push(r);
    }
    this.readsWaiting = stillWaiting;
  }

  private maybeCompact(): void {
    const applied = this.applier.appliedIndex;
    const snapIndex = this.storage.snapshot().metadata.index;
    if (applied - snapIndex < this.options.snapshotEveryEntries) return;
    const snapshot = this.storage.createSnapshot(applied, this.rn.status().confState, this.sm.snapshot());
    this.disk.saveSnapshot(snapshot);
    this.storage.compact(Math.max(0, applied - this.options.compactionLagEntries));
  }

  isLeader(): boolean {
    return this.up && this.rn.raft.state === 'leader';
  }
}
