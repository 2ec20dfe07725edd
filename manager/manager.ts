import { Server } from '@grpc/grpc-js';
import { join } from 'node:path';
import { systemClock, type Clock, type Timer } from '../lib/clock.js';
import { TswarmError } from '../lib/errors.js';
import { GRPC_MESSAGE_BYTES_MAX } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import { clientCredentials, serverCredentials, type TlsMaterialProvider } from '../lib/tls.js';
import { NodeRole, NodeState, Reachability, type Cluster } from '../gen/tswarm/v1/objects.js';
import type {
  AssignmentsRequest,
  AssignmentsResponse,
  HeartbeatRequest,
  SessionRequest,
  SessionResponse,
  UpdateTaskStatusRequest,
} from '../gen/tswarm/v1/dispatcher.js';
import type { StreamSink } from '../lib/grpc.js';
import type { JoinRaftRequest, LeaveRaftRequest } from '../gen/tswarm/v1/raft.js';
import type {
  ListenSubscriptionsRequest,
  ListenSubscriptionsResponse,
  PublishLogsRequest,
} from '../gen/tswarm/v1/logbroker.js';
import type { ServiceLogsRequest, ServiceLogsResponse } from '../gen/tswarm/v1/control.js';
import type { Caller } from './authz/authz.js';
import { storeMembership } from './authz/store-membership.js';
import { AnonymousRateLimiter } from './authz/anonymous-gate.js';
import { raftSenderAuthorizer, type RaftSenderView } from './authz/raft-sender.js';
import { CertificateIssuer } from './ca/issuer.js';
import { RootRotationReconciler } from './ca/rotation-reconciler.js';
import { trustBundle } from './ca/rotation.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { LogBroker } from './logbroker/broker.js';
import { LeaderForwarder } from './forward.js';
import { readBarrier } from './read-barrier.js';
import { RaftNode } from './raft/node/raft-node.js';
import type { DroppedCounts } from './raft/transport/dropped.js';
import { MemoryStore, type TxResult } from './store/memory-store.js';
import { Store } from './store/store.js';
import { newNodeObject, theCluster } from './store/cluster-objects.js';
import { managerServices } from './services.js';
import { controlHandlers } from './controlapi/handlers.js';
import { joinRaft, leaveRaft } from './membership/join-raft.js';
import type { RaftMembership } from './membership/raft-membership.js';
import { RoleManager } from './membership/role-manager.js';
import { askWhoLeads, shouldAskWhoLeads, type WhoLeadsAsked } from './membership/who-leads.js';
import { Leadership } from './leadership/leadership.js';
import { LeaderLoop } from './leadership/leader-loop.js';
import { replicatedOrchestrator } from './orchestrator/replicated-loop.js';
import { schedulerLoop } from './scheduler/scheduler-loop.js';

/** The node a call comes from; the broker's methods admit nodes only (manager/services.ts). */
function nodeIdOf(caller: Caller): string {
  if (caller.kind !== 'node')
    throw new TswarmError('UNAUTHENTICATED', 'task logs need a node certificate of this cluster');
  return caller.nodeId;
}

export type ManagerMode =
  | { kind: 'init'; cluster: Cluster; hostname: string; availability: number }
  | { kind: 'join'; joinAddr: string }
  | { kind: 'restart' };

export interface ManagerOptions {
  dataDir: string;
  nodeId: string;
  clusterId: string;
  tls: TlsMaterialProvider;
  listenAddr: string;
  advertiseAddr: string;
  /**
   * The managers this node joined through: whom it asks who leads when its Raft address book
   * names no one else (a manager restarted before the leader's snapshot reached it).
   */
  joinAddrs?: readonly string[];
  mode: ManagerMode;
  log: Logger;
  clock?: Clock;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  heartbeatPeriodMs?: number;
}

const LEADER_WAIT_MS = 30_000;
/** One JoinRaft to one manager, when asking who leads; a few managers are tried in turn. */
const WHO_LEADS_CALL_DEADLINE_MS = 5_000;
/** How often the leader looks for learners to promote, role changes and root rotations to carry out. */
const LEADER_ROUND_EVERY_MS = 500;
/**
 * How often the leader looks for missed heartbeats: one Raft tick. A node is marked DOWN at most
 * this long after its deadline (3 missed periods, 3 s by default), which is all a dead worker's
 * tasks wait for before they are replaced; the look reads each node's state, no copies.
 */
const NODE_LIVENESS_CHECK_EVERY_MS = 100;
/** How often a member without a leader checks whether it should ask the managers who leads. */
const WHO_LEADS_CHECK_EVERY_MS = 500;

/**
 * The manager parts of a node: the replicated store on Raft, the CA, the dispatcher's heartbeat
 * intake and the control API, all behind one gRPC server with mutual TLS (port 2377).
 */
export class Manager {
  readonly replica = new MemoryStore();
  private raft!: RaftNode<TxResult>;
  readonly store: Store;
  private readonly server = new Server({ 'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX });
  private readonly forwarder: LeaderForwarder;
  private readonly clock: Clock;
  private readonly dispatcher: Dispatcher;
  private readonly logBroker: LogBroker;
  private readonly roles: RoleManager;
  /** Runs the leader-only components while this manager leads (fed by the Raft node). */
  readonly leadership: Leadership;
  private readonly rootRotation: RootRotationReconciler;
  private whoLeadsTimer: Timer | undefined;
  private stopped = false;
  private whoLeadsAsked: WhoLeadsAsked | undefined;
  private askingWhoLeads = false;
  /** The voters a JoinRaft answer named, trusted as Raft senders until this member has applied `untilApplied`. */
  private vouched: { voters: ReadonlySet<string>; untilApplied: number } = { voters: new Set(), untilApplied: 0 };
  boundPort = 0;

  private constructor(private readonly o: ManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.store = new Store(this.replica, { propose: (d) => this.raft.propose(d) }, this.clock);
    this.forwarder = new LeaderForwarder(
      (leader) => clientCredentials(o.tls, leader),
      () => {
        const { leader, leaderAddr } = this.raft.status();
        return leader && leaderAddr ? { nodeId: leader, addr: leaderAddr } : undefined;
      },
    );
    this.dispatcher = new Dispatcher({
      nodeId: o.nodeId,
      store: this.store,
      clock: this.clock,
      log: o.log,
      rootCaPem: () => o.tls.current.caPem,
      ...(o.heartbeatPeriodMs ? { heartbeatPeriodMs: o.heartbeatPeriodMs } : {}),
    });
    this.logBroker = new LogBroker({
      store: {
        tasksOfService: (id) => this.replica.tasksOfService(id),
        task: (id) => this.replica.get('task', id),
        node: (id) => this.replica.get('node', id),
      },
      clock: this.clock,
      log: o.log.child({ part: 'logbroker' }),
    });
    // The Raft node exists once started; the role manager reaches it through this view.
    const raft: RaftMembership = {
      status: () => this.raft.status(),
      learnerCaughtUp: (id) => this.raft.learnerCaughtUp(id),
      proposeConfChange: (cc) => this.raft.proposeConfChange(cc),
      transferLeadership: (to) => this.raft.transferLeadership(to),
      leadershipHeir: () => this.raft.leadershipHeir(),
    };
    this.roles = new RoleManager({ nodeId: o.nodeId, raft, store: this.store, log: o.log });
    this.rootRotation = new RootRotationReconciler({ store: this.store, log: o.log });
    this.leadership = new Leadership(o.log.child({ part: 'leadership' }));
    this.registerLeaderComponents();
  }

  /**
   * The leader-only work: node liveness and the role manager, each a round every
   * LEADER_ROUND_EVERY_MS; the orchestrator and the scheduler, a round on each store change.
   */
  private registerLeaderComponents(): void {
    const loop = (
      name: string,
      round: () => Promise<void>,
      hooks: { onStart?(): void; onStop?(): void } = {},
      periodMs = LEADER_ROUND_EVERY_MS,
    ) =>
      new LeaderLoop({
        name,
        clock: this.clock,
        periodMs,
        log: this.o.log.child({ part: name }),
        // A manager still joining has no cluster object yet: nothing to look after.
        round: () => (this.replica.count('cluster') === 0 ? Promise.resolve() : round()),
        ...hooks,
      });
    this.leadership.register(
      loop(
        'node-liveness',
        () => this.dispatcher.markLiveness(this.replica.peekAll('node')),
        {
          onStart: () => this.dispatcher.startLeading(),
          onStop: () => {
            this.dispatcher.stopLeading();
            this.logBroker.stopLeading();
          },
        },
        NODE_LIVENESS_CHECK_EVERY_MS,
      ),
    );
    this.leadership.register(loop('role-manager', () => this.roles.reconcile(this.replica.list('node'))));
    this.leadership.register(loop('root-rotation', () => this.rootRotation.reconcile(this.replica.list('node'))));
    // Services: the orchestrator makes tasks for slots, the scheduler places them; each reacts to
    // store changes and writes transactions, never calling the other (docs/architecture.md).
    const parts = { store: this.store, clock: this.clock };
    this.leadership.register(replicatedOrchestrator({ ...parts, log: this.o.log.child({ part: 'orchestrator' }) }));
    this.leadership.register(schedulerLoop({ ...parts, log: this.o.log.child({ part: 'scheduler' }) }));
  }

  static async start(o: ManagerOptions): Promise<Manager> {
    const m = new Manager(o);
    try {
      await m.startParts();
    } catch (err) {
      await m.stop();
      throw err;
    }
    return m;
  }

  private async startParts(): Promise<void> {
    const o = this.o;
    const members = o.mode.kind === 'init' ? new Map([[o.nodeId, o.advertiseAddr]]) : new Map<string, string>();
    this.raft = await RaftNode.start<TxResult>({
      id: o.nodeId,
      raftDir: join(o.dataDir, 'raft'),
      members,
      // A joining manager starts empty; the leader's snapshot brings the real configuration.
      join: o.mode.kind === 'join',
      stateMachine: this.replica,
      onRoleChange: (role) => this.leadership.observe(role),
      // Each peer is dialled expecting that member's certificate, not just any manager's.
      credentials: ({ id, addr }) => clientCredentials(o.tls, { addr, nodeIds: [id] }),
      authorizeSender: raftSenderAuthorizer(this.raftSenders()),
      // The cluster spec's interval (`init`/`swarm update --snapshot-interval`), read at each check.
      // Read at every Raft Ready: a peek, not a copy of the cluster object (it holds the CA key).
      snapshotEveryEntriesNow: () => this.replica.peekAll('cluster')[0]?.spec?.raft?.snapshotInterval,
      logger: o.log.child({ part: 'raft' }),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      ...(o.electionTicks ? { electionTicks: o.electionTicks } : {}),
      ...(o.heartbeatTicks ? { heartbeatTicks: o.heartbeatTicks } : {}),
    });
    this.raft.registerService(this.server);
    const anonymous = new AnonymousRateLimiter(this.clock);
    for (const s of managerServices(
      this.handlers(),
      storeMembership(this.replica, o.clusterId),
      this.forwarder,
      anonymous,
    ))
      this.server.addService(s.definition, s.implementation);
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(o.listenAddr, serverCredentials(o.tls), (err, port) =>
        err
          ? reject(
              new TswarmError(
                'UNAVAILABLE',
                `cannot listen on ${o.listenAddr}: ${err.message}. Is another tswarmd using the port?`,
                { cause: err },
              ),
            )
          : resolve(port),
      ),
    );
    if (o.mode.kind === 'init') await this.bootstrapCluster(o.mode.cluster, o.mode.hostname, o.mode.availability);
    this.scheduleWhoLeadsCheck();
    o.log.info(
      { listen: o.listenAddr, advertise: o.advertiseAddr, port: this.boundPort, mode: o.mode.kind },
      'manager started',
    );
  }

  /** `tswarm init`: this single voter leads at once; the cluster and this node go in as the first transaction. */
  private async bootstrapCluster(cluster: Cluster, hostname: string, availability: number): Promise<void> {
    await waitFor(() => this.isLeader(), { what: 'this manager to lead the new cluster', timeoutMs: LEADER_WAIT_MS });
    const certificatePem = this.o.tls.current.certPem;
    await this.store.update((tx) => {
      tx.create('cluster', cluster);
      const node = newNodeObject({ id: this.o.nodeId, role: 'manager', hostname, availability, certificatePem });
      node.managerStatus = {
        addr: this.o.advertiseAddr,
        leader: true,
        reachability: Reachability.REACHABILITY_REACHABLE,
      };
      tx.create('node', node);
    });
  }

  /**
   * Who may send Raft messages here, read at every message from the current configuration and
   * store (manager/authz/raft-sender.ts). Reaches `this.raft` lazily: it is asked only once the
   * server listens, after the Raft node has started.
   */
  private raftSenders(): RaftSenderView {
    const store = storeMembership(this.replica, this.o.clusterId);
    const none: ReadonlySet<string> = new Set();
    return {
      clusterId: () => this.o.clusterId,
      seatOf: (id) => this.raft.seatOf(id),
      vouchedVoters: () => (this.raft.appliedIndex() < this.vouched.untilApplied ? this.vouched.voters : none),
      storeStanding: (id) => store.raftStanding(id),
      isRevoked: (id, serial) => store.isRevoked(id, serial),
    };
  }

  /**
   * A joining manager learns the members' addresses from the leader's JoinRaft answer, and which
   * of them are voters. Until it has applied as much as the leader had when it answered, its
   * own configuration (none yet, or an old snapshot's) may not name the leader it catches up
   * from, so it takes Raft messages from the voters the answer named (raft-sender.ts).
   */
  learnPeers(answer: {
    members: readonly { nodeId: string; addr: string; learner: boolean }[];
    appliedIndex: number;
  }): void {
    const voters = new Set(answer.members.filter((m) => !m.learner).map((m) => m.nodeId));
    this.vouched = { voters, untilApplied: answer.appliedIndex };
    this.raft.learnPeerAddresses(new Map(answer.members.map((m) => [m.nodeId, m.addr])));
  }

  isLeader(): boolean {
    const s = this.raft.status();
    return s.leader === this.o.nodeId && s.role === 'leader';
  }

  raftStatus(): ReturnType<RaftNode<TxResult>['status']> {
    return this.raft.status();
  }

  /** Raft messages the transport dropped before this manager's Raft node saw them, by reason. */
  raftDroppedMessages(): DroppedCounts {
    return this.raft.droppedMessages();
  }

  private handlers() {
    const issuer = new CertificateIssuer(this.store, this.clock);
    return {
      isLeader: () => this.isLeader(),
      readBarrier: () => readBarrier(() => this.raft.readIndex()),
      // The root the join tokens pin (the old one until a rotation finishes): a joining node checks
      // its digest; the whole trust bundle comes with its certificate, over verified TLS.
      rootCaPem: () => {
        const pem = this.cluster()?.rootCa?.caCertPem;
        return pem && pem.length > 0 ? Buffer.from(pem).toString() : this.o.tls.current.caPem;
      },
      issueCertificate: async (
        req: { csrPem: Buffer; token: string; hostname: string; availability: number },
        caller: Caller,
      ) => {
        const issued = await issuer.issue(
          { csrPem: req.csrPem.toString(), token: req.token, hostname: req.hostname, availability: req.availability },
          caller,
        );
        return {
          nodeId: issued.nodeId,
          role: issued.role === 'manager' ? NodeRole.NODE_ROLE_MANAGER : NodeRole.NODE_ROLE_WORKER,
          certificatePem: Buffer.from(issued.certificatePem),
          rootCaPem: Buffer.from(issued.rootCaPem),
          clusterId: issued.clusterId,
          raft: issued.raft,
        };
      },
      certificateStatus: async (req: { nodeId: string }, caller: Caller) => {
        if (caller.kind !== 'node' || (caller.role !== 'manager' && caller.nodeId !== req.nodeId))
          throw new TswarmError('PERMISSION_DENIED', 'a node may read only its own certificate status');
        const node = this.replica.get('node', req.nodeId);
        if (!node) throw new TswarmError('NOT_FOUND', `no node ${req.nodeId}`);
        const root = this.cluster()?.rootCa;
        return {
          certificate: node.certificate,
          rootCaPem: Buffer.from(root ? trustBundle(root) : this.o.tls.current.caPem),
        };
      },
      heartbeat: async (req: HeartbeatRequest, caller: Caller) => this.dispatcher.heartbeat(req, caller),
      session: (req: SessionRequest, caller: Caller, sink: StreamSink<SessionResponse>) =>
        this.dispatcher.session(req, caller, sink),
      assignments: (req: AssignmentsRequest, caller: Caller, sink: StreamSink<AssignmentsResponse>) =>
        this.dispatcher.assignments(req, caller, sink),
      updateTaskStatus: (req: UpdateTaskStatusRequest, caller: Caller) => this.dispatcher.updateTaskStatus(req, caller),
      // A node's log listener lives as long as its session on this leader.
      listenSubscriptions: async (
        req: ListenSubscriptionsRequest,
        caller: Caller,
        sink: StreamSink<ListenSubscriptionsResponse>,
      ) => this.logBroker.listen(nodeIdOf(caller), this.dispatcher.sessionEnded(caller, req.sessionId), sink),
      publishLogs: (requests: AsyncIterable<PublishLogsRequest>, caller: Caller) =>
        this.logBroker.publish(nodeIdOf(caller), requests),
      joinRaft: async (req: JoinRaftRequest, caller: Caller) =>
        joinRaft({ raft: this.raft, store: this.store }, req, caller),
      leaveRaft: async (req: LeaveRaftRequest, caller: Caller) =>
        leaveRaft({ raft: this.raft, store: this.store }, req, caller),
      control: {
        ...controlHandlers({
          store: this.store,
          clock: this.clock,
          quorum: {
            voters: () => this.raft.status().voters,
            reachable: (id) =>
              id === this.o.nodeId || this.replica.get('node', id)?.status?.state === NodeState.NODE_STATE_READY,
          },
          leaderId: () => this.raft.status().leader,
        }),
        serviceLogs: (req: ServiceLogsRequest, _caller: Caller, sink: StreamSink<ServiceLogsResponse>) =>
          this.logBroker.subscribe(req, sink),
      },
    };
  }

  private scheduleWhoLeadsCheck(): void {
    if (this.stopped) return;
    this.whoLeadsTimer = this.clock.setTimer(WHO_LEADS_CHECK_EVERY_MS, () => {
      if (!this.leadership.leading()) this.maybeAskWhoLeads();
      this.scheduleWhoLeadsCheck();
    });
  }

  /**
   * A member whose configuration does not name its leader refuses that leader's messages and
   * would never catch up: when it has no leader and its transport refuses non-members, it asks
   * the managers it knows who leads (membership/who-leads.ts), in the background, bounded.
   */
  private maybeAskWhoLeads(): void {
    const refusedNonMembers = this.raft.droppedMessages().byReason['not-a-member'] ?? 0;
    const now = { hasLeader: this.raft.status().leader !== '', refusedNonMembers, nowMs: this.clock.nowMs() };
    if (this.askingWhoLeads || !shouldAskWhoLeads(now, this.whoLeadsAsked)) return;
    const peers = [...this.raft.peerAddresses().entries()].filter(([id]) => id !== this.o.nodeId);
    const managerAddrs = [...new Set([...peers.map(([, addr]) => addr), ...(this.o.joinAddrs ?? [])])].filter(
      (addr) => addr !== '',
    );
    if (managerAddrs.length === 0) return;
    this.whoLeadsAsked = { atMs: now.nowMs, refusedNonMembers };
    this.askingWhoLeads = true;
    // A peer's address is dialled expecting that member; a join address, one of the members it knows.
    const idAt = new Map(peers.map(([id, addr]) => [addr, id]));
    const known = peers.map(([id]) => id);
    askWhoLeads({
      managerAddrs,
      advertiseAddr: this.o.advertiseAddr,
      credentials: (addr) => {
        const id = idAt.get(addr);
        return clientCredentials(this.o.tls, { addr, nodeIds: id ? [id] : known });
      },
      deadlineMs: WHO_LEADS_CALL_DEADLINE_MS,
    })
      .then(
        (answer) => {
          if (this.stopped) return;
          this.learnPeers(answer);
          const voters = answer.members.filter((m) => !m.learner).map((m) => m.nodeId);
          this.o.log.info({ voters, untilApplied: answer.appliedIndex }, 'raft: asked the managers who leads');
        },
        (err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'raft: could not ask who leads; retrying'),
      )
      .finally(() => (this.askingWhoLeads = false));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.whoLeadsTimer?.cancel();
    // Leader-only components stop first (their signal aborts now); a round still waiting on a
    // proposal ends when Raft stops below and rejects it, so the wait is bounded by that.
    const leaderWorkStopped = this.leadership.close();
    // Open sessions would hold the server's shutdown open: they end now, and workers go elsewhere.
    this.dispatcher.stopLeading();
    this.logBroker.stopLeading();
    this.forwarder.close();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 3_000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await this.raft?.stop();
    await leaderWorkStopped;
  }

  cluster(): Cluster | undefined {
    return this.replica.count('cluster') > 0 ? theCluster(this.replica) : undefined;
  }
}
