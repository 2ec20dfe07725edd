import type { ChannelCredentials, ClientReadableStream } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import {
  DispatcherServiceClient,
  type AssignmentsResponse,
  type SessionResponse,
  type TaskStatusUpdate,
} from '../../gen/tswarm/v1/dispatcher.js';
import type { NodeDescription } from '../../gen/tswarm/v1/objects.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { fromServiceError, TswarmError } from '../../lib/errors.js';
import { callUnary, GRPC_MESSAGE_BYTES_MAX } from '../../lib/grpc.js';
import type { Logger } from '../../lib/log.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../lib/tls.js';
import type { ManagerPeer } from '../known-managers.js';
import { managerUnreachable } from '../manager-unreachable.js';
import type { OpenSession } from './log-publisher.js';

/** A manager that has not opened the session within this time is given up for the next. */
export const SESSION_OPEN_DEADLINE_MS = 5_000;
/** Waits between attempts to open a session: doubling from the base, capped, with jitter. */
export const SESSION_RETRY_BASE_MS = 100;
export const SESSION_RETRY_MAX_MS = 5_000;
/** A session open at least this long counts as a success: the next attempt waits no backoff. */
const SESSION_STABLE_MS = 1_000;
/** Heartbeats in a row answered by another manager after which the session moves to it. */
const BEATS_BEFORE_FOLLOWING = 3;
/** One UpdateTaskStatus call: the dispatcher answers once its batch is written (tens of ms). */
export const STATUS_CALL_DEADLINE_MS = 10_000;
/**
 * Keepalive pings on the session's connection: a manager cut off by a partition (no reset, just
 * silence) is noticed within about time + timeout, and the agent moves on to another.
 */
const SESSION_CHANNEL_OPTIONS = {
  ...MANAGER_CHANNEL_OPTIONS,
  'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 2_000,
  'grpc.keepalive_timeout_ms': 2_000,
  'grpc.keepalive_permit_without_calls': 1,
};

export interface SessionClientOptions {
  /** The managers to try, in order (re-read at every attempt: the heartbeats keep it current). */
  managers: () => string[];
  /**
   * The manager at `addr` could not be reached (refused, reset, silent): the node's shared order
   * puts it last, so the heartbeats leave it too (worker/known-managers.ts).
   */
  managerFailed?: (addr: string) => void;
  /** The managers a new session's first message names, with their node IDs, for the node to keep. */
  onManagers?: (managers: ManagerPeer[]) => void;
  credentials: (addr: string) => ChannelCredentials;
  description: () => NodeDescription;
  clock: Clock;
  log: Logger;
  onAssignments(message: AssignmentsResponse): void;
  /** A session opened: streams that live beside it (the log listener) use its channel and end with it. */
  onSessionOpened?(session: OpenSession): void;
  /** Jitter source in [0, 1); injected so tests can fix it. */
  random?: () => number;
}

interface Open {
  addr: string;
  client: DispatcherServiceClient;
  sessionId: string;
  streams: ClientReadableStream<unknown>[];
  /** Ended on purpose because its manager was found unreachable (managerUnreachable). */
  movedAway: boolean;
}

/** How a session that opened ended: how long it was open, and whether its manager is to be left. */
interface Ended {
  openMs: number;
  leaveManager: boolean;
}

/** The backoff before attempt `failures + 1`: doubling, capped, with ±50 % jitter so workers spread out. */
export function sessionRetryDelayMs(failures: number, random: number): number {
  if (failures === 0) return 0;
  const ceiling = Math.min(SESSION_RETRY_BASE_MS * 2 ** (failures - 1), SESSION_RETRY_MAX_MS);
  return Math.round(ceiling * (0.5 + random / 2));
}

/**
 * The worker's session with the managers: a Session stream and its Assignments stream through one
 * manager (which carries them to the leader). When they end — the manager died, leadership moved,
 * a newer session replaced this one — it opens a new session, through the node's first manager
 * (the one its heartbeats use) and then the others, with bounded backoff between attempts. A
 * manager that dies or goes silent is left at once: its stream fails, keepalive notices the
 * silence, or the heartbeats find it unreachable first (managerUnreachable). It never gives up
 * while the node is in the swarm: a worker left without a session only keeps running what it has.
 */
export class SessionClient {
  private open: Open | undefined;
  /** Heartbeats in a row answered by a manager other than the session's. */
  private beatsElsewhere = 0;
  private stopped = false;
  private sleepTimer: { timer: Timer; wake: () => void } | undefined;
  lastError: string | undefined;

  constructor(private readonly o: SessionClientOptions) {}

  start(): void {
    void this.loop();
  }

  /**
   * Sessions one after another, each through the first manager of the node's order that has not
   * failed since the last session opened (all failed: the first again). A manager that could not
   * open one is reported (managerFailed), so the heartbeats leave it too.
   */
  private async loop(): Promise<void> {
    let failures = 0;
    const failed = new Set<string>();
    while (!this.stopped) {
      const managers = this.o.managers();
      let addr = managers.find((a) => !failed.has(a));
      if (addr === undefined) {
        failed.clear();
        addr = managers[0];
      }
      if (addr !== undefined) {
        try {
          const ended = await this.runSession(addr);
          failed.clear();
          if (ended.leaveManager) failed.add(addr);
          // It was open: the next opens at once, through the first manager of the order (the one the
          // heartbeats use; a live manager reaches the new leader), unless this one is to be left; a
          // session that keeps ending at once still backs off, so no loop spins against a manager.
          failures = ended.openMs >= SESSION_STABLE_MS ? 0 : failures + 1;
        } catch (err) {
          this.lastError = `${addr}: ${(err as Error).message}`;
          this.o.log.debug({ manager: addr, err: (err as Error).message }, 'session ended; trying again');
          failures++;
          failed.add(addr);
          // Reported whether it could not be reached or refused (a replica not yet holding this
          // node, say), as a refused heartbeat is: the shared order then puts it last for both,
          // and heartbeats and session go on through one manager instead of each its own.
          this.o.managerFailed?.(addr);
        }
      } else failures++;
      await this.sleep(sessionRetryDelayMs(failures, (this.o.random ?? Math.random)()));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepTimer = undefined;
        resolve();
      };
      this.sleepTimer = { timer: this.o.clock.setTimer(ms, wake), wake };
    });
  }

  /** One session through `addr`: resolves once it ended (it was open), rejects when it could not open. */
  private async runSession(addr: string): Promise<Ended> {
    const client = new DispatcherServiceClient(addr, this.o.credentials(addr), SESSION_CHANNEL_OPTIONS);
    const open: Open = { addr, client, sessionId: '', streams: [], movedAway: false };
    this.open = open;
    const sessionOver = new AbortController();
    try {
      const session = client.session({ description: this.o.description(), sessionId: '' }, new Metadata());
      open.streams.push(session);
      const first = await firstMessage(session, SESSION_OPEN_DEADLINE_MS, this.o.clock);
      const assignments = client.assignments({ sessionId: first.sessionId }, new Metadata());
      open.streams.push(assignments);
      open.sessionId = first.sessionId;
      const openedMs = this.o.clock.nowMs();
      const ended = Promise.race([untilEnd(session), untilEnd(assignments, (m) => this.received(m))]);
      if (this.stopped) return { openMs: 0, leaveManager: false };
      this.o.log.info({ manager: addr, session: first.sessionId }, 'session opened');
      this.o.onManagers?.(first.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })));
      this.o.onSessionOpened?.({
        addr,
        channel: client.getChannel(),
        sessionId: first.sessionId,
        ended: sessionOver.signal,
      });
      // An open session that ends (the manager died, leadership moved) is not a failure to back off from.
      let unreachable = false;
      await ended.catch((err: unknown) => {
        this.lastError = `${addr}: ${(err as Error).message}`;
        unreachable = managerUnreachable(err);
        this.o.log.info({ manager: addr, err: (err as Error).message }, 'session ended; opening another');
      });
      // A manager that died or went silent is left (and reported); one that ended the session
      // itself (leadership moved) is alive, and reaches the new leader.
      if (unreachable && !open.movedAway) this.o.managerFailed?.(addr);
      return { openMs: this.o.clock.nowMs() - openedMs, leaveManager: unreachable || open.movedAway };
    } finally {
      sessionOver.abort();
      for (const s of open.streams) s.cancel();
      client.close();
      if (this.open === open) this.open = undefined;
    }
  }

  /**
   * The heartbeats found the manager at `addr` unreachable: a session through it (open or opening)
   * ends now, and the next opens through another, rather than waiting for keepalive to notice.
   */
  managerUnreachable(addr: string): void {
    const open = this.open;
    if (open?.addr !== addr || this.stopped) return;
    open.movedAway = true;
    this.o.log.info({ manager: addr }, 'the session’s manager does not answer heartbeats; moving the session');
    for (const s of open.streams) s.cancel();
  }

  /**
   * A heartbeat was answered through `addr`. Heartbeats and session each move on from a manager
   * that fails them, so they can part (a beat refused by a lagging replica moves the beats, the
   * session stays); a session open elsewhere while BEATS_BEFORE_FOLLOWING beats in a row went to
   * one manager ends and opens again there — the node talks to one manager, whose loss it then
   * notices once, not twice.
   */
  heartbeatsAnsweredBy(addr: string): void {
    const open = this.open;
    if (!open?.sessionId || this.stopped || open.addr === addr || open.movedAway) {
      this.beatsElsewhere = 0;
      return;
    }
    if (++this.beatsElsewhere < BEATS_BEFORE_FOLLOWING) return;
    this.beatsElsewhere = 0;
    open.movedAway = true;
    this.o.log.info({ manager: open.addr, heartbeats: addr }, 'moving the session to the manager the heartbeats use');
    for (const s of open.streams) s.cancel();
  }

  /** The manager the open session goes through; undefined while none is open. */
  manager(): string | undefined {
    return this.open?.sessionId ? this.open.addr : undefined;
  }

  private received(message: AssignmentsResponse): void {
    this.lastError = undefined;
    this.o.onAssignments(message);
  }

  /** Sends statuses through the open session; refused at once when none is open. */
  async updateTaskStatus(updates: TaskStatusUpdate[]): Promise<void> {
    const open = this.open;
    if (!open?.sessionId) throw new TswarmError('UNAVAILABLE', 'no session with a manager is open');
    try {
      await callUnary(
        open.client.updateTaskStatus.bind(open.client),
        new Metadata(),
        { sessionId: open.sessionId, updates },
        STATUS_CALL_DEADLINE_MS,
      );
    } catch (err) {
      // The leader does not know this session (it changed): end it, so a new one opens.
      if (err instanceof TswarmError && err.code === 'NOT_FOUND') for (const s of open.streams) s.cancel();
      throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.open?.streams ?? []) s.cancel();
    if (this.sleepTimer) {
      this.sleepTimer.timer.cancel();
      this.sleepTimer.wake();
    }
  }
}

function firstMessage(
  stream: ClientReadableStream<SessionResponse>,
  deadlineMs: number,
  clock: Clock,
): Promise<SessionResponse> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(deadlineMs, () => {
      stream.cancel();
      reject(new TswarmError('DEADLINE_EXCEEDED', `no session within ${deadlineMs} ms`));
    });
    stream.once('data', (m: SessionResponse) => {
      timer.cancel();
      resolve(m);
    });
    stream.once('error', (err) => {
      timer.cancel();
      reject(fromServiceError(err as never));
    });
    stream.once('end', () => {
      timer.cancel();
      reject(new TswarmError('UNAVAILABLE', 'the manager ended the session before opening it'));
    });
  });
}

/** Resolves when the stream ends; rejects with its error. */
function untilEnd<T>(stream: ClientReadableStream<T>, onData?: (m: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (onData) stream.on('data', onData);
    stream.on('error', (err) => reject(fromServiceError(err as never)));
    stream.on('end', () => resolve());
  });
}
