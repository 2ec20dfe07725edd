/**
 * The environment the interaction tests (testdata/*.txt) drive: a few RawNodes over
 * MemoryStorage, a message queue the script delivers by hand, and output in etcd's style.
 * Each command returns its output lines; logs from the nodes are interleaved where they happen.
 */
import type { Random } from '../../../lib/random.js';
import type { BasicLogger, LogFn } from '../../../lib/logger.js';
import { decodeConfChange } from '../core/confchange.js';
import {
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from '../core/describe.js';
import { MemoryStorage } from '../core/memory-storage.js';
import type { Message } from '../core/messages.js';
import { describeConfState } from '../core/confchange.js';
import { RawNode } from '../core/rawnode.js';
import type { ConfChange, ConfState, NodeId } from '../core/types.js';
import type { Command } from './datadriven.js';

type LogLevel = 'none' | 'warn' | 'info' | 'debug';
const LEVELS: LogLevel[] = ['none', 'warn', 'info', 'debug'];

interface EnvNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  /** The state machine: the data of every normal entry applied, in order. */
  applied: string[];
  options: NodeOptions;
}

interface NodeOptions {
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  maxSizePerMsgBytes: number;
  maxInflightMsgs: number;
}

/** Election timeouts are not randomised in scripts: tick-election then means exactly one timeout. */
const noJitter: Random = { int: () => 0, bytes: (n) => new Uint8Array(n) };

export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private queue: Message[] = [];
  private readonly isolated = new Set<NodeId>();
  private level: LogLevel = 'info';
  private out: string[] = [];

  run(cmd: Command): string {
    this.out = [];
    this.dispatch(cmd);
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private print(line: string): void {
    this.out.push(line);
  }

  private logger(): BasicLogger {
    // The core logs messages alone; fields, if ever given, are left out of the transcript.
    const at =
      (lvl: LogLevel, tag: string): LogFn =>
      (objOrMsg: object | string, msg?: string) => {
        const line = typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '');
        if (LEVELS.indexOf(this.level) >= LEVELS.indexOf(lvl)) this.print(`${tag} ${line}`);
      };
    return {
      debug: at('debug', 'DEBUG'),
      info: at('info', 'INFO'),
      warn: at('warn', 'WARN'),
      error: at('warn', 'ERROR'),
    };
  }

  private dispatch(cmd: Command): void {
    const ids = cmd.args;
    switch (cmd.name) {
      case 'add-nodes':
        return this.addNodes(cmd);
      case 'campaign':
        return this.node(ids[0]).rn.campaign();
      case 'propose':
        return this.tryPropose(() => this.node(ids[0]).rn.propose(new TextEncoder().encode(ids[1] ?? '')));
      case 'propose-conf-change':
        return this.tryPropose(() => this.node(ids[0]).rn.proposeConfChange(parseConfChange(ids[1] ?? '')));
      case 'process-ready':
        for (const id of ids) this.processReady(this.node(id));
        return;
      case 'deliver-msgs':
        for (const id of ids) this.deliver(id);
        return;
      case 'drop-msgs':
        return this.dropMsgs(cmd);
      case 'stabilize':
        return this.stabilize(ids.length > 0 ? ids : [...this.nodes.keys()]);
      case 'tick-heartbeat':
        return this.ticks(ids, (n) => n.options.heartbeatTicks);
      case 'tick-election':
        return this.ticks(ids, (n) => n.options.electionTicks);
      case 'tick':
        return this.ticks([ids[0]!], () => Number(ids[1] ?? 1));
      case 'raft-state':
        return this.raftState();
      case 'raft-log':
        return this.raftLog(this.node(ids[0]));
      case 'status':
        return this.status(this.node(ids[0]));
      case 'compact':
        return this.compact(this.node(ids[0]), Number(ids[1]));
      case 'transfer-leadership':
        return this.node(one(cmd, 'from')).rn.transferLeadership(one(cmd, 'to'));
      case 'read-index':
        return this.tryPropose(() => this.node(ids[0]).rn.readIndex(ids[1] ?? ''));
      case 'report-unreachable':
        return this.node(ids[0]).rn.reportUnreachable(ids[1] ?? '');
      case 'report-snapshot':
        return this.node(ids[0]).rn.reportSnapshot(ids[1] ?? '', ids[2] === 'failure' ? 'failure' : 'finish');
      case 'set-randomized-election-timeout':
        this.node(ids[0]).rn.raft.randomizedElectionTimeout = Number(ids[1]);
        return;
      case 'isolate':
        for (const id of ids) this.isolated.add(id);
        return;
      case 'heal':
        this.isolated.clear();
        return;
      case 'restart':
        return this.restart(this.node(ids[0]));
      case 'applied':
        return this.print(`${ids[0]}: [${this.node(ids[0]).applied.join(' ')}]`);
      case 'log-level':
        this.level = (ids[0] as LogLevel) ?? 'info';
        return;
      default:
        throw new Error(`unknown command ${cmd.name}`);
    }
  }

  private node(id: string | undefined): EnvNode {
    const n = this.nodes.get(id ?? '');
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private tryPropose(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.print(`error: ${(err as Error).message}`);
    }
  }

  private addNodes(cmd: Command): void {
    const count = Number(cmd.args[0] ?? 1);
    const bool = (k: string, d: boolean) => (cmd.kv.has(k) ? cmd.kv.get(k)![0] === 'true' : d);
    const num = (k: string, d: number) => (cmd.kv.has(k) ? Number(cmd.kv.get(k)![0]) : d);
    const options: NodeOptions = {
      preVote: bool('prevote', false),
      checkQuorum: bool('checkquorum', false),
      electionTicks: num('election', 10),
      heartbeatTicks: num('heartbeat', 1),
      maxSizePerMsgBytes: num('max-size-per-msg', 1024 * 1024),
      maxInflightMsgs: num('max-inflight', 256),
    };
    const cs: ConfState = { voters: cmd.kv.get('voters') ?? [], learners: cmd.kv.get('learners') ?? [] };
    const index = num('index', 0);
    for (let i = 0; i < count; i++) {
      const id = String(this.nodes.size + 1);
      const storage =
        cs.voters.length > 0 ? MemoryStorage.bootstrap(cs, index, index > 0 ? 1 : 0) : new MemoryStorage();
      const node: EnvNode = { id, rn: undefined as unknown as RawNode, storage, applied: [], options };
      this.nodes.set(id, node);
      node.rn = this.newRawNode(node);
    }
  }

  private newRawNode(n: EnvNode): RawNode {
    return new RawNode({ id: n.id, storage: n.storage, random: noJitter, logger: this.logger(), ...n.options });
  }

  private restart(n: EnvNode): void {
    this.queue = this.queue.filter((m) => m.to !== n.id);
    const snap = n.storage.snapshot();
    n.applied = snap.data.length > 0 ? (JSON.parse(new TextDecoder().decode(snap.data)) as string[]) : [];
    n.rn = this.newRawNode(n);
  }

  private processReady(n: EnvNode): void {
    if (!n.rn.hasReady()) return;
    const rd = n.rn.ready();
    this.print(`> ${n.id} handling Ready`);
    for (const line of describeReady(rd)) this.print(`  ${line}`);
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied =
        rd.snapshot.data.length > 0 ? (JSON.parse(new TextDecoder().decode(rd.snapshot.data)) as string[]) : [];
    }
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        const cs = n.rn.applyConfChange(decodeConfChange(e.data));
        this.print(`  ${n.id} applied ${describeEntry(e)}: ${describeConfState(cs)}`);
      } else if (e.data.length > 0) {
        n.applied.push(new TextDecoder().decode(e.data));
      }
    }
    // A partition drops messages as they are sent; the Ready above still lists them.
    const cut = (m: Message) => this.isolated.has(m.from) || this.isolated.has(m.to);
    this.queue.push(...[...rd.messages, ...rd.messagesAfterPersist].filter((m) => !cut(m)));
    n.rn.advance();
  }

  private deliver(to: NodeId): number {
    const mine = this.queue.filter((m) => m.to === to);
    this.queue = this.queue.filter((m) => m.to !== to);
    for (const m of mine) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) {
        this.print(`  dropped: ${describeMessage(m)}`);
        continue;
      }
      this.print(describeMessage(m));
      this.node(to).rn.step(m);
    }
    return mine.length;
  }

  private dropMsgs(cmd: Command): void {
    const from = cmd.kv.get('from')?.[0];
    const to = cmd.kv.get('to')?.[0];
    const dropped = this.queue.filter(
      (m) => (from === undefined || m.from === from) && (to === undefined || m.to === to),
    );
    this.queue = this.queue.filter((m) => !dropped.includes(m));
    for (const m of dropped) this.print(`dropped: ${describeMessage(m)}`);
  }

  private stabilize(ids: NodeId[]): void {
    // Bounded: a script that never settles is a bug to report, not a hang.
    for (let round = 0; round < 100; round++) {
      let progressed = false;
      for (const id of ids) {
        if (this.node(id).rn.hasReady()) {
          this.processReady(this.node(id));
          progressed = true;
        }
      }
      for (const id of ids) {
        if (this.queue.some((m) => m.to === id)) {
          this.print(`> ${id} receiving messages`);
          this.deliver(id);
          progressed = true;
        }
      }
      if (!progressed) return;
    }
    this.print('error: did not stabilize within 100 rounds');
  }

  private ticks(ids: string[], count: (n: EnvNode) => number): void {
    for (const id of ids) {
      const n = this.node(id);
      for (let i = count(n); i > 0; i--) n.rn.tick();
    }
  }

  private raftState(): void {
    for (const n of this.nodes.values()) {
      const st = n.rn.status();
      const kind = st.confState.voters.includes(n.id)
        ? 'Voter'
        : st.confState.learners.includes(n.id)
          ? 'Learner'
          : 'NonMember';
      this.print(
        `${n.id}: ${st.softState.raftState} (${kind}) Term:${st.hardState.term} Lead:${st.softState.lead || 0}`,
      );
    }
  }

  private raftLog(n: EnvNode): void {
    const ents = n.storage.allEntries();
    if (ents.length === 0)
      this.print(`log is empty: first index=${n.storage.firstIndex()}, last index=${n.storage.lastIndex()}`);
    for (const e of ents) this.print(describeEntry(e));
  }

  private status(n: EnvNode): void {
    const st = n.rn.status();
    this.print(`${describeHardState(st.hardState)} Applied:${st.applied} ${describeConfState(st.confState)}`);
    for (const [id, pr] of [...st.progress].sort(([a], [b]) => a.localeCompare(b)))
      this.print(`${id}: ${pr.describe()}`);
  }

  /** Snapshots the node's applied state at its applied index and compacts the log up to `index`. */
  private compact(n: EnvNode, index: number): void {
    const st = n.rn.status();
    const data = new TextEncoder().encode(JSON.stringify(n.applied));
    n.storage.createSnapshot(st.applied, st.confState, data);
    n.storage.compact(Math.min(index, st.applied));
    this.print(`snapshot ${describeSnapshot(n.storage.snapshot())}; first index now ${n.storage.firstIndex()}`);
  }
}

function one(cmd: Command, key: string): string {
  const v = cmd.kv.get(key)?.[0];
  if (v === undefined) throw new Error(`${cmd.name}: missing ${key}=`);
  return v;
}

/** v2 = add voter 2, l2 = add learner 2, r2 = remove 2. */
export function parseConfChange(s: string): ConfChange {
  const type = s[0] === 'v' ? 'addVoter' : s[0] === 'l' ? 'addLearner' : s[0] === 'r' ? 'remove' : undefined;
  if (!type) throw new Error(`bad conf change ${s}`);
  return { type, nodeId: s.slice(1), addr: type === 'remove' ? '' : `node${s.slice(1)}:2377` };
}
