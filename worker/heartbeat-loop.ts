import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { DispatcherServiceClient, type HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import type { NodeDescription } from '../gen/tswarm/v1/objects.js';
import { asTswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import type { Logger } from '../lib/log.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import type { Clock, Timer } from '../lib/clock.js';
import type { KnownManagers, ManagerPeer } from './known-managers.js';
import { managerUnreachable } from './manager-unreachable.js';
import { RemovalDetector } from './removal.js';

export interface HeartbeatLoopOptions {
  /** The managers to beat, in order; shared with the task agent's session (known-managers.ts). */
  managers: KnownManagers;
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
  /** The manager at `addr` could not be reached (refused, reset, silent): the beats left it. */
  onUnreachable?(addr: string): void;
  /** A beat was answered through the manager at `addr` (the task session follows it: SessionClient). */
  onAnswered?(addr: string): void;
  /**
   * A manager refused this node's certificate as revoked (its role changed and the renewal's
   * answer was lost): a renewal into the role the store holds is the one call still allowed.
   */
  onCertificateRevoked?(): void;
  initialPeriodMs?: number;
}

/**
 * The share of the heartbeat period a beat may take before the manager counts as unreachable and
 * the next one is tried, in the same period. The leader marks a node DOWN after 3 periods without
 * a beat (manager/dispatcher/heartbeats.ts): with the last beat answered at t, the next starts at
 * t + 1 period; a manager that hangs is left at t + 1.75 periods and the next one reached right
 * after — a period and more to spare, enough for a second silent manager in a row too.
 */
const BEAT_DEADLINE_SHARE = 0.75;
/** Bounds on that deadline: a very short period still leaves a TLS handshake time; a long one no hour-long wait. */
export const BEAT_DEADLINE_MIN_MS = 250;
export const BEAT_DEADLINE_MAX_MS = 10_000;

/** How long one beat may take, for a heartbeat period of `periodMs`. */
export function beatDeadlineMs(periodMs: number): number {
  return Math.min(BEAT_DEADLINE_MAX_MS, Math.max(BEAT_DEADLINE_MIN_MS, Math.round(periodMs * BEAT_DEADLINE_SHARE)));
}

/**
 * The node's heartbeat: one beat every period to a manager (which forwards it to the leader).
 * A manager that cannot be reached is left at once for the next known one, within the same
 * period, so the death of the manager a node talks to never costs it its Ready state; one that
 * answers with an error (no leader yet, a lagging replica) is left at the next beat. Bounded: one
 * beat in flight, each with a deadline, each manager tried at most once per period.
 */
export class HeartbeatLoop {
  private periodMs: number;
  private timer: Timer | undefined;
  private stopped = false;
  /** One client per address, with the expectation it was made for (remade when that changes). */
  private clients = new Map<string, { client: InstanceType<typeof DispatcherServiceClient>; expects: string }>();
  private readonly removal = new RemovalDetector();
  /** The manager that answered the last beat; undefined while none does. */
  private inUse: string | undefined;
  lastError: string | undefined;

  constructor(private readonly o: HeartbeatLoopOptions) {
    this.periodMs = o.initialPeriodMs ?? 1_000;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(delayMs, () => void this.round().finally(() => this.schedule(this.periodMs)));
  }

  private client(addr: string) {
    const expected = this.o.managers.expectedAt(addr);
    const expects = expected.nodeIds.join(',');
    const known = this.clients.get(addr);
    if (known?.expects === expects) return known.client;
    known?.client.close();
    const client = new DispatcherServiceClient(addr, this.o.credentials(expected), MANAGER_CHANNEL_OPTIONS);
    this.clients.set(addr, { client, expects });
    return client;
  }

  /** Clients of addresses no longer known are closed, so the map stays as small as the rotation. */
  private dropStaleClients(candidates: readonly string[]): void {
    for (const [addr, c] of this.clients) {
      if (candidates.includes(addr)) continue;
      c.client.close();
      this.clients.delete(addr);
    }
  }

  /** One period's beat: through the first manager that answers, each tried once at most. */
  private async round(): Promise<void> {
    const tried = new Set<string>();
    this.dropStaleClients(this.o.managers.candidates());
    while (!this.stopped) {
      const addr = this.o.managers.candidates().find((a) => !tried.has(a));
      if (addr === undefined) return;
      tried.add(addr);
      if (!(await this.beat(addr))) return;
    }
  }

  /** One beat to `addr`; true when the manager could not be reached and the next should be tried now. */
  private async beat(addr: string): Promise<boolean> {
    try {
      const c = this.client(addr);
      const res = await callUnary(
        c.heartbeat.bind(c),
        new Metadata(),
        { sessionId: '', description: this.o.description(), trustRootDigest: this.o.trustRootDigest?.() ?? '' },
        beatDeadlineMs(this.periodMs),
      );
      if (this.stopped) return false;
      if (this.inUse !== addr) this.o.log.info({ manager: addr }, 'heartbeats answered by this manager');
      this.inUse = addr;
      this.lastError = undefined;
      this.periodMs = res.periodMs || this.periodMs;
      this.o.managers.learn(res.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })));
      this.removal.answered(undefined);
      this.o.onResponse(res);
      this.o.onAnswered?.(addr);
      return false;
    } catch (err) {
      if (this.stopped) return false;
      const e = asTswarmError(err);
      const wasInUse = this.inUse === addr;
      if (wasInUse) this.inUse = undefined;
      this.lastError = `${addr}: ${e.message}`;
      this.o.managers.failed(addr);
      if (managerUnreachable(e)) {
        // Said once when the manager in use goes; a long outage of all of them is not a log line a second.
        if (wasInUse)
          this.o.log.info(
            { manager: addr, err: e.message },
            'the manager in use does not answer heartbeats; trying the next now',
          );
        else
          this.o.log.debug({ manager: addr, err: e.message }, 'a manager does not answer heartbeats; trying the next');
        this.o.onUnreachable?.(addr);
        return true;
      }
      if (e.code === 'CERTIFICATE_REVOKED') this.o.onCertificateRevoked?.();
      if (this.removal.answered(e)) {
        // Beating on would only be refused: the node is out until it leaves and joins again.
        this.stop();
        this.o.log.warn({ manager: addr, err: e.message }, 'the cluster removed this node; heartbeats stop');
        this.o.onRemoved(e.message);
        return false;
      }
      this.o.log.debug({ manager: addr, err: e.message }, 'heartbeat refused; the next beat goes to the next manager');
      return false;
    }
  }

  /** The manager that answered the last beat, with its node ID; undefined while none answers. */
  manager(): ManagerPeer | undefined {
    if (this.inUse === undefined) return undefined;
    return { addr: this.inUse, nodeId: this.o.managers.nodeIdAt(this.inUse) ?? '' };
  }

  /** A renewed certificate: new connections must present it. */
  resetConnections(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.resetConnections();
  }
}
