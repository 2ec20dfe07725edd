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
import type { OpenSession } from './log-publisher.js';

/** A manager that has not opened the session within this time is given up for the next. */
export const SESSION_OPEN_DEADLINE_MS = 5_000;
/** Waits between attempts to open a session: doubling from the base, capped, with jitter. */
export const SESSION_RETRY_BASE_MS = 100;
export const SESSION_RETRY_MAX_MS = 5_000;
/** A session open at least this long counts as a success: the next attempt waits no backoff. */
const SESSION_STABLE_MS = 1_000;
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
  client: DispatcherServiceClient;
  sessionId: string;
  streams: ClientReadableStream<unknown>[];
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
 * a newer session replaced this one — it opens a new session, through the same manager first and
 * then the others, with bounded backoff between attempts. It never gives up while the node is in
 * the swarm: a worker left without a session only keeps running what it has.
 */
export class SessionClient {
  private open: Open | undefined;
  private stopped = false;
  private sleepTimer: { timer: Timer; wake: () => void } | undefined;
  lastError: string | undefined;

  constructor(private readonly o: SessionClientOptions) {}

  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let next = 0;
    while (!this.stopped) {
      const managers = this.o.managers();
      if (managers.length > 0) {
        const addr = managers[next % managers.length]!;
        try {
          const openMs = await this.runSession(addr);
          // It was open: the same manager is tried again first (it reaches the new leader); a session
          // that keeps ending at once still backs off, so no loop spins against a manager.
          failures = openMs >= SESSION_STABLE_MS ? 0 : failures + 1;
        } catch (err) {
          this.lastError = `${addr}: ${(err as Error).message}`;
          this.o.log.debug({ manager: addr, err: (err as Error).message }, 'session ended; trying again');
          failures++;
          next++;
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

  /** One session through `addr`: resolves with how long it was open, rejects when it could not open. */
  private async runSession(addr: string): Promise<number> {
    const client = new DispatcherServiceClient(addr, this.o.credentials(addr), SESSION_CHANNEL_OPTIONS);
    const open: Open = { client, sessionId: '', streams: [] };
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
      if (this.stopped) return 0;
      this.o.log.info({ manager: addr, session: first.sessionId }, 'session opened');
      this.o.onSessionOpened?.({
        addr,
        channel: client.getChannel(),
        sessionId: first.sessionId,
        ended: sessionOver.signal,
      });
      // An open session that ends (the manager died, leadership moved) is not a failure to back off from.
      await ended.catch((err: unknown) => {
        this.lastError = `${addr}: ${(err as Error).message}`;
        this.o.log.info({ manager: addr, err: (err as Error).message }, 'session ended; opening another');
      });
      return this.o.clock.nowMs() - openedMs;
    } finally {
      sessionOver.abort();
      for (const s of open.streams) s.cancel();
      client.close();
      if (this.open === open) this.open = undefined;
    }
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
