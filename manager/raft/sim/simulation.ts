/**
 * The deterministic cluster simulation: one seed drives everything (fault schedule, network,
 * disks, election timeouts, clients), so any failure replays exactly from its seed.
 *
 * Each tick: maybe inject a fault (crash, restart, partition, heal, membership change), deliver
 * due messages, tick every member and run its Ready cycle, let clients act, check safety.
 * After the fault phase, a calm phase (everyone up, network healed and reliable) lets every
 * client finish; then the history is checked for linearizability.
 */
import { SeededRandom } from '../../../lib/random.js';
import { ProposalDroppedError } from '../core/rawnode.js';
import { encodeKvCommand } from '../kv/commands.js';
import type { Message } from '../core/messages.js';
import type { Entry, NodeId } from '../core/types.js';
import { SimClient, type Outstanding } from './client.js';
import { SimDisk } from './disk.js';
import { kvModel, type KvInput, type KvOutput } from './kv-model.js';
import { checkHistory, type CheckResult, type Operation } from './linearizability.js';
import { SimNetwork } from './network.js';
import { SafetyChecker } from './safety.js';
import { SimNode, type NodeHooks } from './sim-node.js';

export interface SimOptions {
  seed: number;
  /** Ticks of the fault phase. */
  steps: number;
  /** Ticks allowed for the calm phase to let every client finish. */
  calmSteps: number;
  clients: number;
}

export interface SimResult {
  seed: number;
  violations: string[];
  linearizability: CheckResult;
  operations: number;
  incomplete: number;
  leaders: number;
  crashes: number;
  confChanges: number;
  appliedEntries: number;
  snapshotsSent: number;
  readIndexReads: number;
}

const INITIAL_VOTERS = ['n1', 'n2', 'n3'];
const MAX_NODES = 6; // ids n1..n6; nodes are never deleted, so removed ids are never reused (as etcd requires)
const OP_TIMEOUT_TICKS = 40;

export class Simulation {
  private readonly random: SeededRandom;
  private readonly net: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly removed = new Set<NodeId>();
  private readonly clients: SimClient[] = [];
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  readonly safety = new SafetyChecker();
  private now = 0;
  /** Strictly increasing event times for the history: call and return never tie. */
  private eventTime = 0;
  private crashes = 0;
  private confChanges = 0;
  private calm = false;
  private snapshotsSent = 0;
  private readIndexReads = 0;

  constructor(readonly options: SimOptions) {
    this.random = new SeededRandom(options.seed);
    this.net = new SimNetwork(this.random, { dropPerMille: 50, duplicatePerMille: 20, maxDelayTicks: 3 });
    const boot = {
      metadata: { index: 1, term: 1, confState: { voters: INITIAL_VOTERS, learners: [] } },
      data: new Uint8Array(),
    };
    for (const id of INITIAL_VOTERS) this.addNode(id, SimDisk.bootstrap(boot, { term: 1, vote: '', commit: 1 }));
    for (let i = 0; i < options.clients; i++) this.clients.push(new SimClient(`c${i}`));
  }

  private addNode(id: NodeId, disk: SimDisk): SimNode {
    const n = new SimNode(
      id,
      disk,
      this.random,
      {
        electionTicks: 10,
        snapshotEveryEntries: 40,
        compactionLagEntries: 5,
        maxSizePerMsgBytes: 256,
        maxInflightMsgs: 4,
      },
      this.hooks,
    );
    n.start();
    this.nodes.set(id, n);
    return n;
  }

  private readonly hooks: NodeHooks = {
    send: (from, m) => this.send(from, m),
    applied: (node, entry, cmd, result) => this.onApplied(node, entry, cmd?.clientId, cmd?.seq, result?.value),
    readServed: (node, ctx) => this.onReadServed(node, ctx),
    persisted: (node, entries) => this.safety.observePersisted(node, entries),
  };

  run(): SimResult {
    for (; this.now < this.options.steps; this.now++) this.tick(true);
    this.calmDown();
    for (let i = 0; i < this.options.calmSteps && this.clients.some((c) => c.outstanding); i++, this.now++)
      this.tick(false);
    return this.finish();
  }

  private tick(faults: boolean): void {
    if (faults) this.injectFault();
    const { delivered, cut } = this.net.due(this.now);
    for (const m of cut) this.reportLost(m);
    for (const m of delivered) this.deliver(m);
    const nodes = [...this.nodes.values()];
    for (const n of nodes) {
      if (!n.up) continue;
      n.rn.tick();
      n.process(this.now);
    }
    for (const c of this.clients) this.driveClient(c);
    this.safety.observeLeaders(nodes, this.now);
    if (this.now % 10 === 0) this.safety.checkLogMatching(nodes, 100);
  }

  private send(from: SimNode, m: Message): void {
    if (m.type === 'MsgSnap') this.snapshotsSent++;
    const to = this.nodes.get(m.to);
    if (!to || !this.net.send(m, this.now)) this.reportLost(m);
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (!to?.up) return this.reportLost(m);
    to.step(m);
    // The transport tells the sender how a snapshot went, so it stops waiting for it.
    const from = this.nodes.get(m.from);
    if (m.type === 'MsgSnap' && from?.up) from.rn.reportSnapshot(m.to, 'finish');
  }

  private reportLost(m: Message): void {
    const from = this.nodes.get(m.from);
    if (!from?.up) return;
    if (m.type === 'MsgSnap') from.rn.reportSnapshot(m.to, 'failure');
    else if (m.type === 'MsgApp' && this.random.int(2) === 0) from.rn.reportUnreachable(m.to);
  }

  // ---- faults ----------------------------------------------------------------------------

  private injectFault(): void {
    const r = this.random.int(1000);
    if (r < 8) this.crashOne();
    else if (r < 30) this.restartOne();
    else if (r < 36) this.partitionRandomly();
    else if (r < 50) this.net.heal();
    else if (r < 56) this.changeMembership();
  }

  private crashOne(): void {
    const up = [...this.nodes.values()].filter((n) => n.up);
    if (up.length === 0) return;
    const victim = up[this.random.int(up.length)]!;
    victim.crash();
    this.crashes++;
  }

  private restartOne(): void {
    const down = [...this.nodes.values()].filter((n) => !n.up);
    if (down.length > 0) down[this.random.int(down.length)]!.start();
  }

  private partitionRandomly(): void {
    const ids = [...this.nodes.keys()];
    const groups: NodeId[][] = [[], []];
    for (const id of ids) groups[this.random.int(2)]!.push(id);
    this.net.partition(groups);
  }

  /** Propose one change at the current leader: add a learner, promote one, or remove a member. */
  private changeMembership(): void {
    const leader = [...this.nodes.values()].find((n) => n.isLeader());
    if (!leader) return;
    const cs = leader.rn.status().confState;
    const choice = this.random.int(3);
    try {
      if (choice === 0 && this.nodes.size < MAX_NODES) {
        const id = `n${this.nodes.size + 1}`;
        this.addNode(id, new SimDisk());
        leader.rn.proposeConfChange({ type: 'addLearner', nodeId: id, addr: `${id}:2377` });
      } else if (choice === 1 && cs.learners.length > 0) {
        const id = cs.learners[this.random.int(cs.learners.length)]!;
        leader.rn.proposeConfChange({ type: 'addVoter', nodeId: id, addr: `${id}:2377` });
      } else if (choice === 2 && cs.voters.length > 3) {
        // Keep at least three voters so the calm phase can always make progress.
        const id = cs.voters[this.random.int(cs.voters.length)]!;
        leader.rn.proposeConfChange({ type: 'remove', nodeId: id, addr: '' });
        this.removed.add(id);
      } else {
        return;
      }
      this.confChanges++;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  private calmDown(): void {
    this.calm = true;
    this.net.heal();
    this.net.faults = { dropPerMille: 0, duplicatePerMille: 0, maxDelayTicks: 1 };
    for (const n of this.nodes.values()) if (!n.up) n.start();
  }

  // ---- clients ---------------------------------------------------------------------------

  private nextEventTime(): number {
    return ++this.eventTime;
  }

  private driveClient(c: SimClient): void {
    let o = c.outstanding;
    if (!o) {
      // Clients pause now and then, so histories have idle points and overlap varies.
      if (this.calm || this.random.int(4) !== 0) return;
      o = c.newOperation(this.random, this.nextEventTime());
      this.attempt(c, o);
      return;
    }
    if (this.now >= o.deadline) this.attempt(c, o);
  }

  /** Sends (or resends) the operation to a member: the leader half the time, else anyone up. */
  private attempt(c: SimClient, o: Outstanding): void {
    const up = [...this.nodes.values()].filter((n) => n.up && !this.removed.has(n.id));
    const leader = up.find((n) => n.isLeader());
    const target = leader && this.random.int(2) === 0 ? leader : up[this.random.int(Math.max(1, up.length))];
    o.attempt++;
    o.deadline = this.now + OP_TIMEOUT_TICKS;
    if (!target) return;
    o.nodeId = target.id;
    try {
      if (o.viaReadIndex) target.rn.readIndex(c.readCtx(o));
      else target.rn.propose(encodeKvCommand(c.command(o)));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      o.deadline = this.now + 3; // no leader yet: retry soon
    }
  }

  private onApplied(
    node: SimNode,
    entry: Entry,
    clientId: string | undefined,
    seq: number | undefined,
    value: string | undefined,
  ): void {
    this.safety.observeApplied(node, entry);
    if (clientId === undefined) return;
    const c = this.clients.find((x) => x.id === clientId);
    const o = c?.outstanding;
    // Only the member the client is talking to answers it (any attempt's answer will do).
    if (!c || !o || o.seq !== seq || o.nodeId !== node.id) return;
    this.history.push(c.complete(o.input.op === 'get' ? (value ?? '') : '', this.nextEventTime()));
  }

  private onReadServed(node: SimNode, ctx: string): void {
    const [clientId, seq, attempt] = ctx.split('/');
    const c = this.clients.find((x) => x.id === clientId);
    const o = c?.outstanding;
    if (!c || !o || String(o.seq) !== seq || String(o.attempt) !== attempt || o.nodeId !== node.id) return;
    this.readIndexReads++;
    this.history.push(c.complete(node.sm.get(o.input.key), this.nextEventTime()));
  }

  private finish(): SimResult {
    let incomplete = 0;
    for (const c of this.clients) {
      const o = c.outstanding;
      if (!o) continue;
      incomplete++;
      // A write that never returned may or may not have happened; a read constrains nothing.
      if (o.input.op !== 'get')
        this.history.push({
          clientId: c.id,
          input: o.input,
          output: undefined,
          callTime: o.callTime,
          returnTime: Infinity,
        });
    }
    const { result } = checkHistory(kvModel, this.history);
    return {
      seed: this.options.seed,
      violations: [...this.safety.violations],
      linearizability: result,
      operations: this.history.length,
      incomplete,
      leaders: this.safety.leaders(),
      crashes: this.crashes,
      confChanges: this.confChanges,
      appliedEntries: this.safety.appliedCount(),
      snapshotsSent: this.snapshotsSent,
      readIndexReads: this.readIndexReads,
    };
  }
}

export function simFailed(r: SimResult): boolean {
  return r.violations.length > 0 || r.linearizability !== 'ok' || r.incomplete > 0;
}
