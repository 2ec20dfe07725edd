import { Metadata } from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';
import { TswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { waitFor } from '../lib/poll.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS, TlsMaterialProvider } from '../lib/tls.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import { NodeAvailability, NodeRole, type ClusterSpec, type RaftConfig } from '../gen/tswarm/v1/objects.js';
import { RaftMembershipServiceClient } from '../gen/tswarm/v1/raft.js';
import {
  LocalNodeState,
  type SwarmInfo,
  type SwarmInitRequest,
  type SwarmInitResponse,
  type SwarmJoinRequest,
  type SwarmJoinResponse,
} from '../gen/tswarm/v1/system.js';
import { defaultClusterSpec, newCluster } from '../manager/store/new-cluster.js';
import { Manager, type ManagerMode } from '../manager/manager.js';
import { MemoryStore } from '../manager/store/memory-store.js';
import { forceNewCluster } from '../manager/raft/node/force-new-cluster.js';
import { claimRaftDir, RaftDirRefusedError, writeRaftOwner, type RaftOwner } from '../manager/raft-dir-owner.js';
import { changeCertificates, loadCertificates, saveCertificates } from '../worker/certificates.js';
import { TrustFollower } from '../worker/trust-follower.js';
import { caBundleDigest, parseJoinToken } from '../ca/join-token.js';
import { MANAGER_CALL_DEADLINE_MS } from '../worker/deadlines.js';
import { HeartbeatLoop } from '../worker/heartbeat-loop.js';
import { KnownManagers, type ManagerPeer } from '../worker/known-managers.js';
import { loadKnownManagers, ManagersFileWriter } from '../worker/managers-file.js';
import { Agent, type TaskEngine } from '../worker/agent/agent.js';
import { joinHandshake } from '../worker/join.js';
import { leaveRaftThroughLeader } from '../worker/leave-raft.js';
import { describeNode } from '../worker/node-description.js';
import { RenewalScheduler, renewCertificate } from '../worker/renewal.js';
import { removedMessage } from '../worker/removal.js';
import { RoleChanger } from '../worker/role-change.js';
import { chooseAdvertiseAddr, splitHostPort } from './addresses.js';
import { checkRaftTimings, mergeSpec, raftTimings } from './cluster-spec.js';
import { freshNodeConfig, saveNodeConfig, type NodeConfig, type RaftTimings } from './node-config.js';
import { clearSwarmState, RAFT_DIR } from './swarm-state.js';

/** A node whose certificate was revoked renews at most this often (each refused heartbeat asks). */
const REVOKED_RENEWAL_EVERY_MS = 5_000;

export interface SwarmOptions {
  dataDir: string;
  hostname: string;
  /** The engine labels this node reports in its description (tswarmd --label). */
  engineLabels?: Readonly<Record<string, string>>;
  log: Logger;
  node: NodeConfig;
  clock?: Clock;
  /** The node's engine: with it, the task agent runs this node's tasks (every node in a swarm, managers too). */
  engine?: TaskEngine;
  /** Told when this node's manager parts start (the manager) and stop (undefined): the swarm's events follow them. */
  onManagerChange?: (manager: Manager | undefined) => void;
}

/**
 * This node's part in a swarm: its identity and certificate, its heartbeat, and — on managers —
 * the manager parts. `init` and `join` create the identity; a restarted daemon resumes it.
 */
export class Swarm {
  private tls: TlsMaterialProvider | undefined;
  private manager: Manager | undefined;
  private heartbeat: HeartbeatLoop | undefined;
  /** The managers this node can reach, shared by the heartbeats and the agent; kept in managers.json. */
  private managers: KnownManagers | undefined;
  private managersFile: ManagersFileWriter | undefined;
  private agent: Agent | undefined;
  private readonly clock: Clock;
  private readonly renewal: RenewalScheduler;
  private revokedRenewal: Promise<void> | undefined;
  private lastRevokedRenewalMs = Number.NEGATIVE_INFINITY;
  private readonly roles: RoleChanger;
  private readonly trust: TrustFollower;
  private state: LocalNodeState = LocalNodeState.LOCAL_NODE_STATE_INACTIVE;
  private lastError = '';
  /** The last membership change (init, join, leave) queued: they run one at a time. */
  private membership: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SwarmOptions) {
    this.clock = o.clock ?? systemClock;
    this.renewal = new RenewalScheduler({
      clock: this.clock,
      log: this.o.log,
      certificatePem: () => (this.tls && this.o.node.role !== 'none' ? this.tls.current.certPem : undefined),
      renew: () => this.renewCertificate(),
    });
    this.roles = new RoleChanger({
      log: this.o.log,
      node: () => this.o.node,
      renewCertificate: (managers) => this.renewCertificateThrough(managers),
      becomeWorker: (managers) => this.becomeWorker(managers),
      becomeManager: (joinAddr) => this.becomeManager(joinAddr),
      failed: (message) => (this.lastError = message),
    });
    this.trust = new TrustFollower({
      clock: this.clock,
      log: this.o.log,
      material: () => (this.tls && this.o.node.role !== 'none' ? this.tls.current : undefined),
      trust: async (caPem) => {
        await changeCertificates(
          this.o.dataDir,
          () => this.tls,
          (current) => ({ ...current, caPem }),
        );
      },
      renew: async () => {
        await this.renewCertificate();
        this.renewal.schedule();
      },
    });
  }

  get node(): NodeConfig {
    return this.o.node;
  }

  get localManager(): Manager | undefined {
    return this.manager;
  }

  /** The address this daemon dials for cluster calls: its own manager, else the known manager in use. */
  managerAddr(): string {
    if (this.manager) return this.localManagerAddr()!;
    return this.managers?.candidates()[0] ?? this.o.node.joinAddrs[0] ?? '';
  }

  private localManagerAddr(): string | undefined {
    return this.manager ? `127.0.0.1:${this.manager.boundPort}` : undefined;
  }

  /**
   * Which manager this node expects at `addr` when it dials it (lib/manager-identity.ts): itself at
   * its own local manager; else as answers named them (the node named there, or one of the
   * managers it knows), from this run or a previous one (managers.json); knowing none — right
   * after its join, before the first answer — any manager of its cluster.
   */
  expectedManagerAt(addr: string): ExpectedManager {
    if (this.manager && addr === this.localManagerAddr()) return { addr, nodeIds: [this.o.node.nodeId] };
    return this.managers?.expectedAt(addr) ?? { addr, nodeIds: [] };
  }

  credentials(expected: ExpectedManager) {
    if (this.o.node.removed) throw new TswarmError('NODE_REMOVED', removedMessage(this.o.node.nodeId));
    if (!this.tls)
      throw new TswarmError(
        'NOT_IN_SWARM',
        'this node is not part of a swarm. Create one with `tswarm init` or join one with `tswarm join`',
      );
    return clientCredentials(this.tls, expected);
  }

  async resume(): Promise<void> {
    const n = this.o.node;
    if (n.role === 'none') {
      // In no swarm: what a former membership left (a leave a crash cut short, or one made by a
      // tswarm that kept raft/) belongs to nothing, and holds an old cluster's keys.
      await this.clearLeftovers();
      return;
    }
    if (n.removed) {
      // Removed by the cluster: nothing to resume until the operator leaves and joins again (a
      // removal a crash cut short finishes its clean-up here).
      await this.clearLeftovers();
      this.showRemoved();
      return;
    }
    this.tls = new TlsMaterialProvider(await loadCertificates(this.o.dataDir));
    if (n.role === 'manager') {
      try {
        await this.startManager({ kind: 'restart' });
      } catch (err) {
        if (!(err instanceof RaftDirRefusedError)) throw err;
        // The daemon stays up without its manager parts, so the operator can do what the message
        // says (`tswarm leave --force`); `tswarm info` shows it.
        this.state = LocalNodeState.LOCAL_NODE_STATE_ERROR;
        this.lastError = err.message;
        this.o.log.error({ err: err.message }, 'Raft not started: its data belongs to another cluster or member');
        return;
      }
    }
    // The managers the last run knew: the node rejoins through any of them, not only the one it
    // joined through (which may be the one that is down), and expects their node IDs when it dials.
    const known = await loadKnownManagers(this.o.dataDir, n.clusterId, this.o.log);
    if (known.length > 0)
      this.o.log.info({ managers: known.map((m) => m.addr) }, 'resuming with the managers known before');
    this.startNodeParts(known);
  }

  /** Two racing inits (or an init and a join) must not both pass the check that the node is free. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.membership.then(fn, fn);
    this.membership = run.catch(() => undefined);
    return run;
  }

  init(req: SwarmInitRequest): Promise<SwarmInitResponse> {
    return this.exclusive(() => this.initNow(req));
  }

  join(req: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    return this.exclusive(() => this.joinNow(req));
  }

  leave(force: boolean): Promise<void> {
    return this.exclusive(() => this.leaveNow(force));
  }

  private async initNow(req: SwarmInitRequest): Promise<SwarmInitResponse> {
    if (req.forceNewCluster) return this.forceNewCluster();
    this.requireInactive();
    await this.clearLeftovers();
    const listen = splitHostPort(req.listenAddr || '0.0.0.0:2377', '--listen-addr');
    const advertiseAddr = chooseAdvertiseAddr(req.advertiseAddr, listen.port, this.o.node.namePrefix);
    const spec: ClusterSpec = mergeSpec(defaultClusterSpec(), req.spec);
    checkRaftTimings(raftTimings(spec.raft)!);
    const nc = await newCluster(spec, this.clock);
    this.tls = new TlsMaterialProvider({
      caPem: nc.cluster.rootCa!.caCertPem.toString(),
      keyPem: nc.keyPem,
      certPem: nc.certPem,
    });
    await saveCertificates(this.o.dataDir, this.tls.current);
    await this.setNode({
      nodeId: nc.nodeId,
      clusterId: nc.cluster.id,
      role: 'manager',
      joinAddrs: [],
      advertiseAddr,
      listenAddr: `${listen.host}:${listen.port}`,
      raft: raftTimings(spec.raft),
    });
    try {
      await this.startManager({
        kind: 'init',
        cluster: nc.cluster,
        hostname: this.o.hostname,
        availability: req.availability || NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      });
    } catch (err) {
      await this.forget();
      throw err;
    }
    this.startNodeParts();
    const tokens = nc.cluster.rootCa!.joinTokens!;
    return {
      nodeId: nc.nodeId,
      clusterId: nc.cluster.id,
      workerJoinToken: tokens.worker,
      managerJoinToken: tokens.manager,
      advertiseAddr,
    };
  }

  /**
   * After losing quorum: keep this manager's committed state and restart Raft with it as the
   * only member. The other managers show as unreachable until demoted; new ones join as usual.
   */
  private async forceNewCluster(): Promise<SwarmInitResponse> {
    const n = this.o.node;
    if (n.role !== 'manager') {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        '--force-new-cluster recovers a manager’s own copy of the cluster, and this node is not a manager. Run it on a surviving manager',
      );
    }
    await this.stopParts();
    const raftDir = join(this.o.dataDir, RAFT_DIR);
    // Recover only from this member's own data; the new directory belongs to it as the old did.
    await claimRaftDir(raftDir, this.raftOwner(), 'restart', this.o.log);
    await forceNewCluster(raftDir, n.nodeId, n.advertiseAddr, new MemoryStore(), this.o.log, this.clock.nowMs());
    await writeRaftOwner(raftDir, this.raftOwner());
    await this.startManager({ kind: 'restart' });
    this.startNodeParts();
    await waitFor(() => this.manager?.isLeader() === true, {
      what: 'this manager to lead the recovered cluster',
      timeoutMs: 30_000,
    });
    const tokens = this.manager!.cluster()?.rootCa?.joinTokens;
    return {
      nodeId: n.nodeId,
      clusterId: n.clusterId,
      workerJoinToken: tokens?.worker ?? '',
      managerJoinToken: tokens?.manager ?? '',
      advertiseAddr: n.advertiseAddr,
    };
  }

  private async joinNow(req: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    this.requireInactive();
    await this.clearLeftovers();
    const token = parseJoinToken(req.token);
    const remote = req.remoteAddrs[0];
    if (!remote)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        'join needs the address of a manager, e.g. `tswarm join --token TOKEN 192.168.77.11:2377`',
      );
    const { host, port } = splitHostPort(remote, 'manager address');
    const managerAddr = `${host}:${port}`;
    const { caPem, keyPem, issued } = await joinHandshake({
      managerAddr,
      token,
      availability: req.availability || NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      hostname: this.o.hostname,
    });
    const role = issued.role === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
    // The roots to trust came with the certificate, over TLS verified against the pinned root:
    // both roots while a root rotation runs, so this node verifies old and new certificates alike.
    const trusted = issued.rootCaPem.toString() || caPem;
    this.tls = new TlsMaterialProvider({ caPem: trusted, keyPem, certPem: issued.certificatePem.toString() });
    await saveCertificates(this.o.dataDir, this.tls.current);
    const listen = splitHostPort(req.listenAddr || '0.0.0.0:2377', '--listen-addr');
    const advertiseAddr =
      role === 'manager'
        ? chooseAdvertiseAddr(req.advertiseAddr, listen.port, this.o.node.namePrefix)
        : req.advertiseAddr;
    await this.setNode({
      nodeId: issued.nodeId,
      clusterId: issued.clusterId,
      role,
      joinAddrs: [managerAddr],
      advertiseAddr,
      listenAddr: `${listen.host}:${listen.port}`,
      raft: this.joinedRaftTimings(issued.raft),
    });
    try {
      if (role === 'manager') await this.startManager({ kind: 'join', joinAddr: managerAddr });
    } catch (err) {
      await this.forget();
      throw err;
    }
    this.startNodeParts();
    return { nodeId: issued.nodeId, role: issued.role };
  }

  private async leaveNow(force: boolean): Promise<void> {
    if (this.o.node.role === 'none') throw new TswarmError('NOT_IN_SWARM', 'this node is not part of a swarm');
    // Removed by the cluster: no Raft to leave, no quorum to protect; what is left is the local state.
    if (this.o.node.removed) return this.forget();
    if (this.o.node.role === 'manager' && !force) {
      const status = this.manager?.raftStatus();
      const voters = status?.voters.length ?? 1;
      const why =
        voters <= 1
          ? 'it is the last manager: leaving would destroy the cluster'
          : `leaving would leave ${voters - 1} managers${voters - 1 < 3 ? ', and losing one more would lose quorum' : ''}`;
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `this node is a manager and ${why}. Demote it first with \`tswarm node demote\`, or use --force`,
      );
    }
    if (this.o.node.role === 'manager') await this.leaveRaft();
    await this.forget();
  }

  /**
   * Takes this manager out of the Raft configuration through the leader, so the other managers no
   * longer count it in their quorum (Docker's leave does the same). The wait is bounded
   * (LEAVE_RAFT_DEADLINE_MS). Only a forced leave gets here (a manager's plain leave is refused),
   * so when no leader answers, that is logged and the leave goes on.
   */
  private async leaveRaft(): Promise<void> {
    const self = this.o.node.nodeId;
    const status = this.manager?.raftStatus();
    // The last voter has nobody to leave (and Raft refuses to remove the last voter).
    if (status && status.learners.length === 0 && status.voters.length === 1 && status.voters[0] === self) return;
    const managerAddr = this.managerAddr();
    try {
      if (!managerAddr || !this.tls) throw new TswarmError('UNAVAILABLE', 'this node knows no manager to ask');
      await leaveRaftThroughLeader({
        managerAddr,
        credentials: clientCredentials(this.tls, this.expectedManagerAt(managerAddr)),
        nodeId: self,
      });
      this.o.log.info('left Raft: the leader took this manager out of the configuration');
    } catch (err) {
      this.o.log.warn(
        { err: (err as Error).message },
        'could not leave Raft through the leader; leaving anyway (--force). The other managers keep this member in their configuration until it is demoted',
      );
    }
  }

  private requireInactive(): void {
    if (this.o.node.role !== 'none') {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `this node is already part of a swarm (node ${this.o.node.nodeId}). Leave it first with \`tswarm leave\``,
      );
    }
  }

  private async setNode(fields: Partial<NodeConfig>): Promise<void> {
    Object.assign(this.o.node, fields);
    await saveNodeConfig(this.o.dataDir, this.o.node);
  }

  /**
   * Back to a clean non-swarm state: node.json says so first, then the Raft data, keys and
   * certificates go (a crash in between leaves data that resume and init/join clear).
   */
  private async forget(): Promise<void> {
    await this.stopParts();
    this.tls = undefined;
    // The node's own name prefix stays: its containers and networks are named with it.
    await this.setNode({ ...freshNodeConfig(this.o.node.namePrefix), removed: undefined });
    this.state = LocalNodeState.LOCAL_NODE_STATE_INACTIVE;
    this.lastError = '';
    await this.clearLeftovers();
  }

  /**
   * Deletes Raft data, keys and certificates of a membership this node no longer has. init and
   * join call it too: they clear leftovers rather than refuse them, because node.json says this
   * node is in no swarm, so nothing there is a current member's (Docker's init and join clear
   * its swarm directory the same way).
   */
  private async clearLeftovers(): Promise<void> {
    const removed = await clearSwarmState(this.o.dataDir);
    if (removed.length > 0)
      this.o.log.info({ removed }, 'deleted the Raft data, keys and certificates of a former swarm');
  }

  /**
   * The cluster removed this node (its heartbeats said so, confirmed): it stops heartbeating and
   * renewing, node.json records the removal, and the keys and Raft data go as `leave` deletes them
   * (the certificate is refused everywhere anyway). The node stays in this state — `tswarm info`
   * says so and how to come back — until the operator runs `leave` and joins again.
   */
  private markRemoved(nodeId: string): Promise<void> {
    return this.exclusive(async () => {
      // A leave (or a new join) that ran meanwhile already decided what this node is.
      if (this.o.node.nodeId !== nodeId || this.o.node.removed) return;
      this.o.log.warn({ node: nodeId }, 'this node was removed from the swarm');
      await this.stopParts();
      this.tls = undefined;
      await this.setNode({ removed: true });
      this.showRemoved();
      await this.clearLeftovers();
    });
  }

  private showRemoved(): void {
    this.state = LocalNodeState.LOCAL_NODE_STATE_ERROR;
    this.lastError = removedMessage(this.o.node.nodeId);
  }

  private raftOwner(): RaftOwner {
    return { clusterId: this.o.node.clusterId, memberId: this.o.node.nodeId };
  }

  /** The timings the join answer brought, checked as init checks them; defaults if unusable. */
  private joinedRaftTimings(raft: RaftConfig | undefined): RaftTimings | undefined {
    const timings = raftTimings(raft);
    if (!timings) return undefined;
    try {
      checkRaftTimings(timings);
      return timings;
    } catch (err) {
      this.o.log.warn({ err, timings }, 'the cluster sent Raft timings this node cannot use; it uses the defaults');
      return undefined;
    }
  }

  private async startManager(mode: ManagerMode): Promise<void> {
    const n = this.o.node;
    // Raft data is bound to one cluster and one member: refuse another's before Raft reads it.
    await claimRaftDir(
      join(this.o.dataDir, RAFT_DIR),
      this.raftOwner(),
      mode.kind === 'restart' ? 'restart' : 'new-member',
      this.o.log,
    );
    const manager = await Manager.start({
      dataDir: this.o.dataDir,
      nodeId: n.nodeId,
      clusterId: n.clusterId,
      tls: this.tls!,
      listenAddr: n.listenAddr || '0.0.0.0:2377',
      advertiseAddr: n.advertiseAddr,
      joinAddrs: n.joinAddrs,
      mode,
      log: this.o.log.child({ part: 'manager' }),
      clock: this.clock,
      ...(n.raft
        ? { tickMs: n.raft.tickMs, electionTicks: n.raft.electionTicks, heartbeatTicks: n.raft.heartbeatTicks }
        : {}),
    });
    this.setManager(manager);
    if (mode.kind === 'join') await this.joinRaft(mode.joinAddr);
  }

  private setManager(manager: Manager | undefined): void {
    this.manager = manager;
    this.o.onManagerChange?.(manager);
  }

  private async joinRaft(managerAddr: string): Promise<void> {
    const client = new RaftMembershipServiceClient(
      managerAddr,
      clientCredentials(this.tls!, this.expectedManagerAt(managerAddr)),
      MANAGER_CHANNEL_OPTIONS,
    );
    try {
      const res = await callUnary(
        client.joinRaft.bind(client),
        new Metadata(),
        { addr: this.o.node.advertiseAddr },
        MANAGER_CALL_DEADLINE_MS,
      );
      this.manager?.learnPeers(res);
    } finally {
      client.close();
    }
  }

  /** Heartbeats, the agent and certificate renewal, from the managers `known` (a previous run's). */
  private startNodeParts(known: readonly ManagerPeer[] = []): void {
    this.state = LocalNodeState.LOCAL_NODE_STATE_ACTIVE;
    const nodeId = this.o.node.nodeId;
    const file = new ManagersFileWriter(this.o.dataDir, this.o.node.clusterId, this.o.log, known);
    this.managersFile = file;
    const local = this.localManagerAddr();
    const managers = new KnownManagers({
      local: local ? { nodeId, addr: local } : undefined,
      persisted: known,
      joinAddrs: this.o.node.joinAddrs,
      onChange: (list) => file.save(list),
    });
    this.managers = managers;
    this.heartbeat = new HeartbeatLoop({
      managers,
      credentials: (expected) => clientCredentials(this.tls!, expected),
      description: () => ({ ...describeNode(this.o.hostname), engineLabels: { ...this.o.engineLabels } }),
      trustRootDigest: () => (this.tls ? caBundleDigest(this.tls.current.caPem).toString('hex') : ''),
      clock: this.clock,
      log: this.o.log.child({ part: 'heartbeat' }),
      onResponse: (res) => {
        this.roles.onHeartbeat(res);
        this.trust.onHeartbeat(res);
      },
      onRemoved: () =>
        void this.markRemoved(nodeId).catch((err: unknown) =>
          this.o.log.error({ err: (err as Error).message }, 'could not record this node’s removal'),
        ),
      onUnreachable: (addr) => this.agent?.managerUnreachable(addr),
      onAnswered: (addr) => this.agent?.heartbeatsAnsweredBy(addr),
      onCertificateRevoked: () => this.renewRevokedCertificate(),
    });
    this.heartbeat.start();
    this.startAgent(managers);
    this.renewal.schedule();
  }

  /**
   * The task agent, on every node of the swarm (managers run tasks too, as in SwarmKit). It reaches
   * the managers the heartbeats use, in the same order (its own manager first); its containers
   * outlive it.
   */
  private startAgent(managers: KnownManagers): void {
    const engine = this.o.engine;
    if (!engine) return;
    this.agent = new Agent({
      nodeId: this.o.node.nodeId,
      engine,
      managers: () => managers.candidates(),
      managerFailed: (addr) => managers.failed(addr),
      onManagers: (peers) => managers.learn(peers),
      // Each dial checks the answering manager is the one known at that address (lib/manager-identity.ts).
      credentials: (addr) => clientCredentials(this.tls!, this.expectedManagerAt(addr)),
      description: () => ({ ...describeNode(this.o.hostname), engineLabels: { ...this.o.engineLabels } }),
      clock: this.clock,
      log: this.o.log.child({ part: 'agent' }),
    });
    this.agent.start();
  }

  /** Demoted: the manager parts stop and the node follows these managers. */
  private async becomeWorker(managers: string[]): Promise<void> {
    await this.manager?.stop();
    this.setManager(undefined);
    this.managers?.setLocal(undefined);
    // No longer a member: its copy of the log is history, and a later promotion starts empty.
    await rm(join(this.o.dataDir, RAFT_DIR), { recursive: true, force: true });
    await this.setNode({ role: 'worker', joinAddrs: managers });
  }

  /** Promoted: the manager parts start and join Raft through `joinAddr`. */
  private async becomeManager(joinAddr: string): Promise<void> {
    const listen = splitHostPort(this.o.node.listenAddr || '0.0.0.0:2377', '--listen-addr');
    const advertiseAddr = chooseAdvertiseAddr(this.o.node.advertiseAddr, listen.port, this.o.node.namePrefix);
    await this.setNode({ advertiseAddr, listenAddr: `${listen.host}:${listen.port}` });
    try {
      await this.startManager({ kind: 'join', joinAddr });
    } catch (err) {
      // Stay a worker, so the next heartbeat tries again.
      await this.manager?.stop();
      this.setManager(undefined);
      throw err;
    }
    this.managers?.setLocal({ nodeId: this.o.node.nodeId, addr: this.localManagerAddr()! });
    await this.setNode({ role: 'manager' });
  }

  /**
   * The heartbeats were refused because this node's certificate was revoked: renew now (at most
   * one renewal under way, and one every REVOKED_RENEWAL_EVERY_MS), rather than at the certificate's
   * next renewal point, which could be weeks away.
   */
  private renewRevokedCertificate(): void {
    const nowMs = this.clock.nowMs();
    if (this.revokedRenewal || nowMs - this.lastRevokedRenewalMs < REVOKED_RENEWAL_EVERY_MS) return;
    this.lastRevokedRenewalMs = nowMs;
    this.o.log.warn('this node’s certificate was revoked; renewing it now');
    this.revokedRenewal = this.renewCertificate()
      .then(() => this.renewal.schedule())
      .catch((err: unknown) =>
        this.o.log.warn({ err: (err as Error).message }, 'renewal of the revoked certificate failed; retrying'),
      )
      .finally(() => (this.revokedRenewal = undefined));
  }

  /** A new key and certificate from any manager over mutual TLS; takes effect without a restart. */
  async renewCertificate(): Promise<void> {
    await this.renewCertificateThrough([]);
  }

  /** Renewal through the first of `managers` that answers (none named: managerAddr()). */
  private async renewCertificateThrough(managers: string[]): Promise<void> {
    const candidates = managers.length > 0 ? managers : [this.managerAddr()];
    let lastErr: unknown;
    for (const managerAddr of candidates) {
      try {
        await this.renewCertificateAt(managerAddr);
        return;
      } catch (err) {
        lastErr = err;
        this.o.log.debug({ manager: managerAddr, err: (err as Error).message }, 'renewal failed; trying the next');
      }
    }
    throw lastErr;
  }

  private async renewCertificateAt(managerAddr: string): Promise<void> {
    await renewCertificate({
      managerAddr,
      expected: this.expectedManagerAt(managerAddr),
      tls: () => this.tls,
      dataDir: this.o.dataDir,
      log: this.o.log,
      onRenewed: () => this.heartbeat?.resetConnections(),
    });
  }

  info(): SwarmInfo {
    const n = this.o.node;
    const status = this.manager?.raftStatus();
    return {
      localNodeState: n.role === 'none' ? LocalNodeState.LOCAL_NODE_STATE_INACTIVE : this.state,
      nodeId: n.nodeId,
      nodeAddr: n.advertiseAddr,
      clusterId: n.clusterId,
      controlAvailable: n.role === 'manager',
      error: this.lastError || this.heartbeat?.lastError || '',
      remoteManagers: this.managers?.candidates() ?? [],
      nodes: this.manager ? this.manager.replica.count('node') : 0,
      managers: status ? status.voters.length : 0,
    };
  }

  /**
   * The managers this node knows, with their node IDs: on a manager, every manager in its copy
   * of the store (itself included, as Docker lists them); on a worker, those its heartbeats named.
   */
  remoteManagers(): { nodeId: string; addr: string }[] {
    if (this.manager) {
      return this.manager.replica
        .list('node', (n) => n.role === NodeRole.NODE_ROLE_MANAGER && !!n.managerStatus?.addr)
        .map((n) => ({ nodeId: n.id, addr: n.managerStatus!.addr }));
    }
    return this.managers?.peers() ?? [];
  }

  /**
   * The managers this node talks to now: the one that answered its last heartbeat, and the one its
   * task session goes through (`tswarm info` shows both). Undefined while none answers.
   */
  managerConnections(): { heartbeat: ManagerPeer | undefined; session: ManagerPeer | undefined } {
    const sessionAddr = this.agent?.sessionManager();
    return {
      heartbeat: this.heartbeat?.manager(),
      session:
        sessionAddr === undefined
          ? undefined
          : { addr: sessionAddr, nodeId: this.managers?.nodeIdAt(sessionAddr) ?? '' },
    };
  }

  async stopParts(): Promise<void> {
    this.renewal.cancel();
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    // The task containers keep running: a restarted daemon's agent adopts them.
    this.agent?.stop();
    this.agent = undefined;
    // A write under way finishes before leave or removal deletes the file; none starts after.
    await this.managersFile?.close();
    this.managersFile = undefined;
    this.managers = undefined;
    await this.manager?.stop();
    this.setManager(undefined);
  }
}
