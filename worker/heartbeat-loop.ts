import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { DispatcherServiceClient, type HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import type { NodeDescription } from '../gen/tswarm/v1/objects.js';
import { asTswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import type { Clock, Timer } from '../lib/clock.js';
import { RemovalDetector } from './removal.js';

export interface HeartbeatLoopOptions {
  /** Managers to try, in order; refreshed from each response. */
  managers: string[];
  /**
   * Managers whose node ID the node knows before any answer names them: a manager's own local
   * manager (itself). Answers add the others.
   */
  knownManagers?: { nodeId: string; addr: string }[];
  /** Credentials that check the server is the manager expected at that address (lib/manager-identity.ts). */
  credentials: (expected: ExpectedManager) => ChannelCredentials;
  description: () => NodeDescription;
  /** SHA-256 (hex) of the trust bundle in use, so the cluster sees a root rotation converge. */
  trustRootDigest?: () => string;
  clock: Clock;
  log: Logger;
  onResponse(res: HeartbeatResponse): void;
  /** The cluster removed this node (confirmed, see RemovalDetector): the loop has stopped. */
  onRemoved(message: string): void;
  initialPeriodMs?: number;
}

/**
 * The managers a node's first heartbeats go to. A manager beats its own local manager first, but
 * never that alone: right after it joins, its replica may not hold its own node yet (the leader
 * is still sending it the log, which takes seconds on a busy machine), and answers "removed".
 * With only itself to ask, every beat got that same answer, so the node believed it after three
 * beats (2 s), deleted its certificates and never became Ready (the lab's rare failure to form
 * the swarm). With the managers it joined through behind it, a "removed" answer fails over to
 * one that holds the node, as RemovalDetector expects.
 */
export function initialHeartbeatManagers(localManager: string | undefined, joinAddrs: readonly string[]): string[] {
  if (!localManager) return [...joinAddrs];
  return [localManager, ...joinAddrs.filter((a) => a !== localManager)];
}

/** A beat that gets no answer within this time counts as missed; the next manager is tried. */
const BEAT_DEADLINE_MS = 2_000;
const MANAGERS_MAX = 16;

/**
 * The node's heartbeat: one beat every period to a manager (which forwards it to the leader),
 * failing over through the known managers when one does not answer. Bounded: one beat in flight.
 */
export class HeartbeatLoop {
  private managers: string[];
  private next = 0;
  private periodMs: number;
  private timer: Timer | undefined;
  private stopped = false;
  /** One client per address, with the expectation it was made for (remade when that changes). */
  private clients = new Map<string, { client: InstanceType<typeof DispatcherServiceClient>; expects: string }>();
  /** Manager node IDs by address, as the last answers named them. */
  private managerIds = new Map<string, string>();
  private readonly removal = new RemovalDetector();
  lastError: string | undefined;

  constructor(private readonly o: HeartbeatLoopOptions) {
    this.managers = [...o.managers];
    this.managerIds = new Map((o.knownManagers ?? []).map((m) => [m.addr, m.nodeId]));
    this.periodMs = o.initialPeriodMs ?? 1_000;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(delayMs, () => void this.beat().finally(() => this.schedule(this.periodMs)));
  }

  private client(addr: string) {
    const expected = this.expectedAt(addr);
    const expects = expected.nodeIds.join(',');
    const known = this.clients.get(addr);
    if (known?.expects === expects) return known.client;
    known?.client.close();
    const client = new DispatcherServiceClient(addr, this.o.credentials(expected), MANAGER_CHANNEL_OPTIONS);
    this.clients.set(addr, { client, expects });
    return client;
  }

  /**
   * Which manager this node expects at `addr`: the node an answer named there; else one of the
   * managers it knows; none known yet (the first contact of a join address): any of its cluster.
   */
  expectedAt(addr: string): ExpectedManager {
    const id = this.managerIds.get(addr);
    if (id) return { addr, nodeIds: [id] };
    return { addr, nodeIds: [...new Set([...this.managerIds.values()].filter((n) => n !== ''))] };
  }

  private async beat(): Promise<void> {
    if (this.managers.length === 0) return;
    const addr = this.managers[this.next % this.managers.length]!;
    const c = this.client(addr);
    try {
      const res = await callUnary(
        c.heartbeat.bind(c),
        new Metadata(),
        { sessionId: '', description: this.o.description(), trustRootDigest: this.o.trustRootDigest?.() ?? '' },
        BEAT_DEADLINE_MS,
      );
      this.lastError = undefined;
      this.periodMs = res.periodMs || this.periodMs;
      const known = res.managers.map((m) => m.addr).filter((a) => a !== '');
      if (res.managers.length > 0)
        this.managerIds = new Map([
          ...(this.o.knownManagers ?? []).map((m): [string, string] => [m.addr, m.nodeId]),
          ...res.managers.map((m): [string, string] => [m.addr, m.nodeId]),
        ]);
      if (known.length > 0) this.managers = [addr, ...known.filter((a) => a !== addr)].slice(0, MANAGERS_MAX);
      this.next = 0;
      this.removal.answered(undefined);
      this.o.onResponse(res);
    } catch (err) {
      const e = asTswarmError(err);
      if (this.removal.answered(e)) {
        // Beating on would only be refused: the node is out until it leaves and joins again.
        this.stop();
        this.o.log.warn({ manager: addr, err: e.message }, 'the cluster removed this node; heartbeats stop');
        this.o.onRemoved(e.message);
        return;
      }
      this.lastError = `${addr}: ${(err as Error).message}`;
      this.o.log.debug({ manager: addr, err: (err as Error).message }, 'heartbeat failed; trying the next manager');
      this.next++;
    }
  }

  /** A renewed certificate: new connections must present it. */
  resetConnections(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }

  knownManagers(): string[] {
    return [...this.managers];
  }

  /** The known managers with their node IDs ('' for one no answer has named yet). */
  knownManagerPeers(): { nodeId: string; addr: string }[] {
    return this.managers.map((addr) => ({ nodeId: this.managerIds.get(addr) ?? '', addr }));
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.resetConnections();
  }
}
