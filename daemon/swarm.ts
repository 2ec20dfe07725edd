import { createHash } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { arch, cpus, platform, totalmem } from 'node:os';
import { systemClock, type Clock, type Timer } from '../lib/clock.js';
import { TswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { cryptoRandom } from '../lib/random.js';
import {
  caOnlyCredentials,
  clientCredentials,
  MANAGER_CHANNEL_OPTIONS,
  TlsMaterialProvider,
  unverifiedBootstrapCredentials,
} from '../lib/tls.js';
import { tswarmVersion } from '../lib/version.js';
import { CAServiceClient, NodeCAServiceClient } from '../gen/tswarm/v1/ca.js';
import {
  NodeAvailability,
  NodeRole,
  type ClusterSpec,
  type NodeDescription,
  type RaftConfig,
} from '../gen/tswarm/v1/objects.js';
import { RaftMembershipServiceClient } from '../gen/tswarm/v1/raft.js';
import type { HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import {
  LocalNodeState,
  type SwarmInfo,
  type SwarmInitRequest,
  type SwarmInitResponse,
  type SwarmJoinRequest,
  type SwarmJoinResponse,
} from '../gen/tswarm/v1/system.js';
import { parseJoinToken } from '../manager/ca/join-token.js';
import { createKeyAndCsr, parseNodeCertificate } from '../manager/ca/node-certificate.js';
import { renewalDelayMs } from '../manager/ca/renewal.js';
import {
  defaultClusterSpec,
  ELECTION_TICKS_DEFAULT,
  HEARTBEAT_TICKS_DEFAULT,
  newCluster,
  RAFT_TICK_MS_DEFAULT,
} from '../manager/store/new-cluster.js';
import { Manager, type ManagerMode } from '../manager/manager.js';
import { MemoryStore } from '../manager/store/memory-store.js';
import { forceNewCluster } from '../manager/raft/node/force-new-cluster.js';
import { waitFor } from '../lib/poll.js';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { HeartbeatLoop } from '../worker/heartbeat-loop.js';
import { loadCertificates, removeCertificates, saveCertificates } from './certificates.js';
import { chooseAdvertiseAddr, splitHostPort } from './addresses.js';
import { saveNodeConfig, type NodeConfig, type RaftTimings } from './node-config.js';

const CALL_DEADLINE_MS = 15_000;
/** A failed renewal is retried this much later (the certificate still has at least 20 % of its life). */
const RENEW_RETRY_MS = 30_000;

export interface SwarmOptions {
  dataDir: string;
  hostname: string;
  log: Logger;
  node: NodeConfig;
  clock?: Clock;
}

/**
 * This node's part in a swarm: its identity and certificate, its heartbeat, and — on managers —
 * the manager parts. `init` and `join` create the identity; a restarted daemon resumes it.
 */
export class Swarm {
  private tls: TlsMaterialProvider | undefined;
  private manager: Manager | undefined;
  private heartbeat: HeartbeatLoop | undefined;
  private renewTimer: Timer | undefined;
  private roleChange: Promise<void> | undefined;
  private readonly clock: Clock;
  private state: LocalNodeState = LocalNodeState.LOCAL_NODE_STATE_INACTIVE;
  private lastError = '';

  constructor(private readonly o: SwarmOptions) {
    this.clock = o.clock ?? systemClock;
  }

  get node(): NodeConfig {
    return this.o.node;
  }

  get localManager(): Manager | undefined {
    return this.manager;
  }

  /** The address this daemon dials for cluster calls: its own manager, else a known manager. */
  managerAddr(): string {
    if (this.manager) return `127.0.0.1:${this.manager.boundPort}`;
    return this.heartbeat?.knownManagers()[0] ?? this.o.node.joinAddrs[0] ?? '';
  }

  credentials() {
    if (!this.tls)
      throw new TswarmError(
        'NOT_IN_SWARM',
        'this node is not part of a swarm. Create one with `tswarm init` or join one with `tswarm join`',
      );
    return clientCredentials(this.tls);
  }

  async resume(): Promise<void> {
    const n = this.o.node;
    if (n.role === 'none') return;
    this.tls = new TlsMaterialProvider(await loadCertificates(this.o.dataDir));
    if (n.role === 'manager') await this.startManager({ kind: 'restart' });
    this.startNodeParts();
  }

  async init(req: SwarmInitRequest): Promise<SwarmInitResponse> {
    if (req.forceNewCluster) return this.forceNewCluster();
    this.requireInactive();
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
    await forceNewCluster(
      join(this.o.dataDir, 'raft'),
      n.nodeId,
      n.advertiseAddr,
      new MemoryStore(),
      this.o.log,
      this.clock.nowMs(),
    );
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

  async join(req: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    this.requireInactive();
    const token = parseJoinToken(req.token);
    const remote = req.remoteAddrs[0];
    if (!remote)
      throw new TswarmError(
        'INVALID_ARGUMENT',
        'join needs the address of a manager, e.g. `tswarm join --token TOKEN 192.168.77.11:2377`',
      );
    const { host, port } = splitHostPort(remote, 'manager address');
    const managerAddr = `${host}:${port}`;
    const caPem = await this.fetchRootCA(managerAddr, token.caDigest);
    const { keyPem, csrPem } = await createKeyAndCsr();
    const client = new NodeCAServiceClient(managerAddr, caOnlyCredentials(caPem), MANAGER_CHANNEL_OPTIONS);
    let issued;
    try {
      issued = await callUnary(
        client.issueNodeCertificate.bind(client),
        new Metadata(),
        {
          csrPem: Buffer.from(csrPem),
          token: token.text,
          availability: req.availability || NodeAvailability.NODE_AVAILABILITY_ACTIVE,
          hostname: this.o.hostname,
        },
        CALL_DEADLINE_MS,
      );
    } finally {
      client.close();
    }
    const role = issued.role === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
    this.tls = new TlsMaterialProvider({ caPem, keyPem, certPem: issued.certificatePem.toString() });
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

  /** Fetches the CA without trusting it, then checks it against the token: a mismatch is refused. */
  private async fetchRootCA(addr: string, expectedDigest: Buffer): Promise<string> {
    const client = new CAServiceClient(addr, unverifiedBootstrapCredentials(), MANAGER_CHANNEL_OPTIONS);
    try {
      const res = await callUnary(client.getRootCaCertificate.bind(client), new Metadata(), {}, CALL_DEADLINE_MS).catch(
        (err: unknown) => {
          throw new TswarmError(
            'UNAVAILABLE',
            `cannot reach a manager at ${addr} (${(err as Error).message}). Check the address and that port ${addr.split(':')[1]} is open`,
            { cause: err },
          );
        },
      );
      const pem = res.certificatePem.toString();
      if (!createHash('sha256').update(pem).digest().equals(expectedDigest)) {
        throw new TswarmError(
          'PERMISSION_DENIED',
          `the manager at ${addr} has a CA that does not match this token: it belongs to another cluster, or a machine in the middle answered. Check the address and the token`,
        );
      }
      return pem;
    } finally {
      client.close();
    }
  }

  async leave(force: boolean): Promise<void> {
    if (this.o.node.role === 'none') throw new TswarmError('NOT_IN_SWARM', 'this node is not part of a swarm');
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
    await this.stopParts();
    await removeCertificates(this.o.dataDir);
    await this.forget();
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

  private async forget(): Promise<void> {
    await this.stopParts();
    this.tls = undefined;
    await this.setNode({ nodeId: '', clusterId: '', role: 'none', joinAddrs: [], advertiseAddr: '', listenAddr: '' });
    this.state = LocalNodeState.LOCAL_NODE_STATE_INACTIVE;
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
    this.manager = await Manager.start({
      dataDir: this.o.dataDir,
      nodeId: n.nodeId,
      clusterId: n.clusterId,
      tls: this.tls!,
      listenAddr: n.listenAddr || '0.0.0.0:2377',
      advertiseAddr: n.advertiseAddr,
      mode,
      log: this.o.log.child({ part: 'manager' }),
      clock: this.clock,
      ...(n.raft
        ? { tickMs: n.raft.tickMs, electionTicks: n.raft.electionTicks, heartbeatTicks: n.raft.heartbeatTicks }
        : {}),
    });
    if (mode.kind === 'join') await this.joinRaft(mode.joinAddr);
  }

  private async joinRaft(managerAddr: string): Promise<void> {
    const client = new RaftMembershipServiceClient(managerAddr, clientCredentials(this.tls!), MANAGER_CHANNEL_OPTIONS);
    try {
      const res = await callUnary(
        client.joinRaft.bind(client),
        new Metadata(),
        { addr: this.o.node.advertiseAddr },
        CALL_DEADLINE_MS,
      );
      this.manager?.learnPeers(res.members);
    } finally {
      client.close();
    }
  }

  private startNodeParts(): void {
    this.state = LocalNodeState.LOCAL_NODE_STATE_ACTIVE;
    const managers = this.manager ? [`127.0.0.1:${this.manager.boundPort}`] : this.o.node.joinAddrs;
    this.heartbeat = new HeartbeatLoop({
      managers,
      credentials: () => clientCredentials(this.tls!),
      description: () => this.description(),
      clock: this.clock,
      log: this.o.log.child({ part: 'heartbeat' }),
      onResponse: (res) => this.onHeartbeat(res),
    });
    this.heartbeat.start();
    this.scheduleRenewal();
  }

  private description(): NodeDescription {
    return {
      hostname: this.o.hostname,
      platform: { os: platform(), architecture: arch() },
      resources: { nanoCpus: cpus().length * 1e9, memoryBytes: totalmem(), pids: 0 },
      engineVersion: tswarmVersion(),
      engineLabels: {},
    };
  }

  private onHeartbeat(res: HeartbeatResponse): void {
    const want = res.desiredRole === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
    if (want !== this.o.node.role && !this.roleChange) {
      this.roleChange = this.changeRole(want, res).finally(() => (this.roleChange = undefined));
    }
  }

  /** Promotion or demotion decided by the cluster: a certificate for the new role, then the parts to match. */
  private async changeRole(want: 'manager' | 'worker', res: HeartbeatResponse): Promise<void> {
    try {
      this.o.log.info({ from: this.o.node.role, to: want }, 'the cluster changed this node’s role');
      await this.renewCertificate();
      if (want === 'worker') {
        await this.manager?.stop();
        this.manager = undefined;
        // No longer a member: its copy of the log is history, and a later promotion starts empty.
        await rm(join(this.o.dataDir, 'raft'), { recursive: true, force: true });
        await this.setNode({ role: 'worker', joinAddrs: res.managers.map((m) => m.addr).filter((a) => a !== '') });
      } else {
        const joinAddr = res.managers.map((m) => m.addr).find((a) => a !== '') ?? this.o.node.joinAddrs[0] ?? '';
        const listen = splitHostPort(this.o.node.listenAddr || '0.0.0.0:2377', '--listen-addr');
        const advertiseAddr = chooseAdvertiseAddr(this.o.node.advertiseAddr, listen.port, this.o.node.namePrefix);
        await this.setNode({ advertiseAddr, listenAddr: `${listen.host}:${listen.port}` });
        try {
          await this.startManager({ kind: 'join', joinAddr });
        } catch (err) {
          // Stay a worker, so the next heartbeat tries again.
          await this.manager?.stop();
          this.manager = undefined;
          throw err;
        }
        await this.setNode({ role: 'manager' });
      }
    } catch (err) {
      this.lastError = `role change to ${want} failed: ${(err as Error).message}`;
      this.o.log.warn({ err: (err as Error).message }, 'role change failed; will retry on the next heartbeat');
    }
  }

  private scheduleRenewal(): void {
    this.renewTimer?.cancel();
    // A renewal that ended after the node left the swarm schedules nothing more.
    if (!this.tls || this.o.node.role === 'none') return;
    const cert = parseNodeCertificate(this.tls.current.certPem);
    const delayMs = renewalDelayMs(cert.notBeforeMs, cert.notAfterMs, this.clock.nowMs(), cryptoRandom);
    this.renewTimer = this.clock.setTimer(Math.min(delayMs, 2 ** 31 - 1), () => {
      void this.renewCertificate().then(
        () => this.scheduleRenewal(),
        (err: unknown) => {
          this.o.log.warn({ err: (err as Error).message }, 'certificate renewal failed; retrying in 30 s');
          if (this.tls) this.renewTimer = this.clock.setTimer(RENEW_RETRY_MS, () => this.scheduleRenewal());
        },
      );
    });
  }

  /** A new key and certificate from any manager over mutual TLS; takes effect without a restart. */
  async renewCertificate(): Promise<void> {
    const addr = this.managerAddr();
    const { keyPem, csrPem } = await createKeyAndCsr();
    const client = new NodeCAServiceClient(addr, clientCredentials(this.tls!), MANAGER_CHANNEL_OPTIONS);
    try {
      const issued = await callUnary(
        client.issueNodeCertificate.bind(client),
        new Metadata(),
        { csrPem: Buffer.from(csrPem), token: '', availability: 0, hostname: '' },
        CALL_DEADLINE_MS,
      );
      const material = { caPem: this.tls!.current.caPem, keyPem, certPem: issued.certificatePem.toString() };
      await saveCertificates(this.o.dataDir, material);
      this.tls!.update(material);
      this.heartbeat?.resetConnections();
      this.o.log.info(
        { notAfterMs: parseNodeCertificate(material.certPem).notAfterMs },
        'renewed this node’s certificate',
      );
    } finally {
      client.close();
    }
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
      remoteManagers: this.heartbeat?.knownManagers() ?? [],
      nodes: this.manager ? this.manager.replica.count('node') : 0,
      managers: status ? status.voters.length : 0,
    };
  }

  async stopParts(): Promise<void> {
    this.renewTimer?.cancel();
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    await this.manager?.stop();
    this.manager = undefined;
  }
}

const TICK_MS_MIN = 10;
const TICK_MS_MAX = 10_000;
const ELECTION_TICKS_MAX = 1_000;

/** Timings Raft can live with: a leader must heartbeat well within an election timeout. */
function checkRaftTimings(t: RaftTimings): void {
  if (t.tickMs < TICK_MS_MIN || t.tickMs > TICK_MS_MAX) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the Raft tick must be between ${TICK_MS_MIN}ms and ${TICK_MS_MAX / 1000}s, got ${t.tickMs}ms. Use e.g. --raft-tick 100ms`,
    );
  }
  if (t.electionTicks > ELECTION_TICKS_MAX || t.electionTicks <= t.heartbeatTicks) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `election ticks must be more than the heartbeat's ${t.heartbeatTicks} and at most ${ELECTION_TICKS_MAX}, got ${t.electionTicks}. Use e.g. --election-ticks 10`,
    );
  }
}

/** The timings a manager starts Raft with; zero (unset) fields take the defaults. */
function raftTimings(raft: RaftConfig | undefined): RaftTimings | undefined {
  if (!raft) return undefined;
  return {
    tickMs: raft.tickMs || RAFT_TICK_MS_DEFAULT,
    electionTicks: raft.electionTick || ELECTION_TICKS_DEFAULT,
    heartbeatTicks: raft.heartbeatTick || HEARTBEAT_TICKS_DEFAULT,
  };
}

function mergeSpec(base: ClusterSpec, given: ClusterSpec | undefined): ClusterSpec {
  if (!given) return base;
  return {
    annotations: base.annotations,
    orchestration: base.orchestration,
    raft: { ...base.raft!, ...nonZero(given.raft) },
    dispatcher: { ...base.dispatcher!, ...nonZero(given.dispatcher) },
    caConfig: { ...base.caConfig!, ...nonZero(given.caConfig) },
  };
}

function nonZero<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0 && v !== undefined)) as Partial<T>;
}
