import type { DeepReadonly } from '../../lib/deep-readonly.js';
import type { Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { NodeRole, NodeState, type Node, type NodeDescription } from '../../gen/tswarm/v1/objects.js';
import type {
  AssignmentsRequest,
  AssignmentsResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  SessionRequest,
  SessionResponse,
  UpdateTaskStatusRequest,
  UpdateTaskStatusResponse,
  WeightedPeer,
} from '../../gen/tswarm/v1/dispatcher.js';
import type { StreamSink } from '../../lib/grpc.js';
import type { Caller } from '../authz/authz.js';
import type { Store } from '../store/store.js';
import { HeartbeatTracker } from './heartbeats.js';
import { checkNodeDescription, DescriptionWriteLimiter } from './description-rules.js';
import { issuerCertPem, trustBundle } from '../ca/rotation.js';
import { caBundleDigest } from '../../ca/join-token.js';

/** A SHA-256 in hex is 64 characters; anything else a node reports is refused. */
const TRUST_DIGEST_PATTERN = /^(|[0-9a-f]{64})$/;
import { SessionRegistry } from './sessions.js';
import { streamAssignments } from './assignments-stream.js';
import { checkStatusUpdates, StatusIntake } from './status-intake.js';

export interface DispatcherOptions {
  /** This manager's own node: it beats for itself every round, having no heartbeat loop of its own. */
  nodeId: string;
  store: Store;
  clock: Clock;
  log: Logger;
  /** The period when the cluster object names none. */
  heartbeatPeriodMs?: number;
  /** The cluster's root CA, sent with each new session (a worker checks it against its own). */
  rootCaPem?: () => string;
}

/** The node a call comes from; the policy admits nodes only, this narrows the type and guards a policy mistake. */
function nodeOf(caller: Caller, what: string): string {
  if (caller.kind !== 'node')
    throw new TswarmError('UNAUTHENTICATED', `${what} need a node certificate of this cluster`);
  return caller.nodeId;
}

/**
 * The leader's side of the workers (SwarmKit's dispatcher): heartbeats and node liveness (a node
 * silent for MISSED_HEARTBEATS_MAX periods is marked DOWN in the store, READY again when it beats),
 * one session per node, each node's assignments streamed from the store, and task statuses from
 * the workers written back in batches. Everything here lives in the leader's memory: a new leader
 * starts with no sessions, and the workers open new ones with it.
 */
export class Dispatcher {
  private tracker: HeartbeatTracker | undefined;
  private readonly descriptionWrites = new DescriptionWriteLimiter();
  /** Trust digests other than the one wanted are written at most this often per node, as descriptions are. */
  private readonly trustWrites = new DescriptionWriteLimiter();
  private readonly sessions = new SessionRegistry();
  private readonly statuses: StatusIntake;

  constructor(private readonly o: DispatcherOptions) {
    this.statuses = new StatusIntake(o.store, o.clock, o.log);
  }

  /**
   * A node's session: the first message names it and what the node needs (managers, period, its
   * spec, the root CA); the stream then stays open until the node goes away, opens a newer
   * session, or this manager stops leading — each ends it with a status that says which.
   */
  async session(req: SessionRequest, caller: Caller, sink: StreamSink<SessionResponse>): Promise<void> {
    const nodeId = nodeOf(caller, 'sessions');
    if (req.description) checkNodeDescription(req.description);
    const node = this.o.store.replica.get('node', nodeId);
    if (!node) throw new TswarmError('PERMISSION_DENIED', `node ${nodeId} is not a member of this cluster`);
    // The node describes itself (platform, resources, engine labels) before it counts as alive:
    // the scheduler places tasks on a READY node by its description, and a node made READY by its
    // session alone, described by no beat yet, failed every platform the task named.
    await this.recordDescription(nodeId, req.description);
    const session = this.sessions.open(nodeId);
    // Opening a session is a sign of life, as a beat is (SwarmKit registers the node then): a
    // daemon that restarts within the deadline must not be marked DOWN before its first beat,
    // which would make the orchestrator replace every task it runs.
    this.beat(nodeId);
    this.o.log.info({ node: nodeId, session: session.id }, 'worker session opened');
    try {
      await sink.write({
        sessionId: session.id,
        managers: this.managers(),
        heartbeatPeriodMs: this.heartbeatPeriodMs(),
        nodeSpec: node.spec,
        rootCaPem: Buffer.from(this.o.rootCaPem?.() ?? ''),
      });
      await ended(session.ended, sink.signal);
      // Replaced or leadership lost: the stream ends with that reason; the caller leaving ends it quietly.
      if (session.ended.aborted) throw session.ended.reason;
    } finally {
      this.sessions.close(session);
    }
  }

  /** The node's tasks for its current session: COMPLETE, then INCREMENTAL, until the session ends. */
  async assignments(req: AssignmentsRequest, caller: Caller, sink: StreamSink<AssignmentsResponse>): Promise<void> {
    const nodeId = nodeOf(caller, 'assignments');
    const session = this.sessions.current(nodeId, req.sessionId);
    const both = AbortSignal.any([session.ended, sink.signal]);
    await streamAssignments(this.o.store, nodeId, sink, both, this.o.log);
    if (session.ended.aborted) throw session.ended.reason;
  }

  /**
   * Aborts when the node's current session `sessionId` ends: streams a node opens beside its
   * session (its log listener) live as long as it. A stale or unknown session is refused.
   */
  sessionEnded(caller: Caller, sessionId: string): AbortSignal {
    return this.sessions.current(nodeOf(caller, 'log listeners'), sessionId).ended;
  }

  /**
   * Statuses from a node's agent, for its own tasks only (the node ID from its certificate); the
   * call settles once they are written (or dropped as not moving a task forward).
   */
  async updateTaskStatus(req: UpdateTaskStatusRequest, caller: Caller): Promise<UpdateTaskStatusResponse> {
    const nodeId = nodeOf(caller, 'task status updates');
    this.sessions.current(nodeId, req.sessionId);
    checkStatusUpdates(req.updates);
    const known = req.updates.filter((u) => {
      const task = this.o.store.replica.get('task', u.taskId);
      if (task && task.nodeId !== nodeId)
        throw new TswarmError('PERMISSION_DENIED', `task ${u.taskId} is not assigned to node ${nodeId}`);
      return task !== undefined; // a task removed meanwhile: nothing to update
    });
    await this.statuses.add(known);
    return {};
  }

  private managers(): WeightedPeer[] {
    return this.o.store.replica
      .list('node', (n) => n.role === NodeRole.NODE_ROLE_MANAGER && !!n.managerStatus?.addr)
      .map((n) => ({ nodeId: n.id, addr: n.managerStatus!.addr, weight: 1 }));
  }

  /**
   * This manager no longer leads: sessions end (the workers reconnect, through any manager, to the
   * new leader) and statuses not yet written are refused back to their senders, who send them again.
   */
  stopLeading(): void {
    const reason = new TswarmError(
      'UNAVAILABLE',
      'this manager no longer leads. Open a new session (it reaches the new leader)',
    );
    if (this.sessions.size() > 0)
      this.o.log.info({ sessions: this.sessions.size() }, 'leadership lost: ending worker sessions');
    this.sessions.closeAll(reason);
    this.statuses.abandon(reason);
    this.forgetBeats();
  }

  heartbeatPeriodMs(): number {
    // Read at every heartbeat: a peek, not a copy of the cluster object (it holds the CA key).
    const c = this.o.store.replica.peekAll('cluster')[0];
    return c?.spec?.dispatcher?.heartbeatPeriodMs || this.o.heartbeatPeriodMs || 1_000;
  }

  async heartbeat(req: HeartbeatRequest, caller: Caller): Promise<HeartbeatResponse> {
    const { store } = this.o;
    // The policy admits nodes only; this narrows the type and guards a policy mistake.
    if (caller.kind !== 'node')
      throw new TswarmError('UNAUTHENTICATED', 'heartbeats need a node certificate of this cluster');
    // A refused description refuses the beat too: a node that lies about itself is not kept alive.
    if (req.description) checkNodeDescription(req.description);
    this.beat(caller.nodeId);
    const node = store.replica.get('node', caller.nodeId);
    if (!node) throw new TswarmError('PERMISSION_DENIED', `node ${caller.nodeId} is not a member of this cluster`);
    await this.recordDescription(caller.nodeId, req.description);
    const root = store.replica.list('cluster')[0]?.rootCa;
    const bundle = root ? trustBundle(root) : '';
    await this.recordTrustDigest(caller.nodeId, req.trustRootDigest, bundle);
    return {
      periodMs: this.heartbeatPeriodMs(),
      desiredRole: node.spec?.desiredRole ?? node.role,
      managers: this.managers(),
      trustBundlePem: Buffer.from(bundle),
      issuerCaCertPem: Buffer.from(root ? issuerCertPem(root) : ''),
    };
  }

  /** Writes the node's self-description when it changed (bounded per node: DescriptionWriteLimiter). */
  private async recordDescription(nodeId: string, description: NodeDescription | undefined): Promise<void> {
    const node = this.o.store.replica.get('node', nodeId);
    if (
      !node ||
      !description ||
      JSON.stringify(description) === JSON.stringify(node.description) ||
      !this.descriptionWrites.tryWrite(nodeId, this.o.clock.nowMs())
    )
      return;
    await this.o.store.update((tx, s) => {
      const n = s.get('node', nodeId);
      if (n) tx.update('node', { ...n, description });
    });
  }

  private beat(nodeId: string): void {
    this.tracker ??= new HeartbeatTracker(this.o.clock.nowMs());
    this.tracker.beat(nodeId, this.o.clock.nowMs());
  }

  /**
   * On gaining leadership: every node's clock starts now, not at a beat this manager kept from an
   * earlier term (its predecessor received the beats in between).
   */
  startLeading(): void {
    this.tracker = new HeartbeatTracker(this.o.clock.nowMs());
  }

  /**
   * Records the trust bundle a node says it uses (its digest), so a root rotation's progress
   * shows which nodes trust what (Docker's node TLSInfo.TrustRoot). The digest the cluster wants is
   * written at once (a node converging); any other at most every 10 s per node, so a node
   * alternating what it reports costs little.
   */
  private async recordTrustDigest(nodeId: string, digest: string, bundle: string): Promise<void> {
    if (!TRUST_DIGEST_PATTERN.test(digest))
      throw new TswarmError('INVALID_ARGUMENT', 'trust_root_digest must be a SHA-256 in hex (64 characters)');
    const node = this.o.store.replica.get('node', nodeId);
    if (!node || digest === '' || node.trustRootDigest === digest) return;
    const wanted = bundle !== '' && caBundleDigest(bundle).toString('hex') === digest;
    if (!wanted && !this.trustWrites.tryWrite(nodeId, this.o.clock.nowMs())) return;
    await this.o.store.update((tx, s) => {
      const n = s.get('node', nodeId);
      if (n) tx.update('node', { ...n, trustRootDigest: digest });
    });
  }

  /**
   * Beats go to the leader only, so a manager that is not (or no longer) leading forgets them: when
   * it leads again, every node's clock starts at that moment rather than at a stale beat.
   */
  forgetBeats(): void {
    this.tracker = undefined;
  }

  /** Leader-only round: writes the READY/DOWN changes due now for `nodes` (the store's current list). */
  async markLiveness(nodes: readonly DeepReadonly<Node>[]): Promise<void> {
    const { store, clock, log } = this.o;
    this.tracker ??= new HeartbeatTracker(clock.nowMs());
    this.tracker.beat(this.o.nodeId, clock.nowMs());
    const changes = this.tracker.changes(
      nodes.map((n) => ({ nodeId: n.id, state: n.status?.state ?? NodeState.NODE_STATE_UNKNOWN })),
      clock.nowMs(),
      this.heartbeatPeriodMs(),
    );
    if (changes.length === 0) return;
    await store.update((tx, s) => {
      for (const c of changes) {
        const n = s.get('node', c.nodeId);
        if (n) tx.update('node', { ...n, status: { state: c.state, message: c.message, addr: n.status?.addr ?? '' } });
      }
    });
    for (const c of changes) log.info({ node: c.nodeId, state: NodeState[c.state] }, 'node state changed');
  }
}

/** Resolves when either signal aborts. */
function ended(a: AbortSignal, b: AbortSignal): Promise<void> {
  const any = AbortSignal.any([a, b]);
  if (any.aborted) return Promise.resolve();
  return new Promise((resolve) => any.addEventListener('abort', () => resolve(), { once: true }));
}
