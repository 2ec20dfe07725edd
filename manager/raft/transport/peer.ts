/**
 * One outbound peer: a long-lived client-streaming StreamMessages call carrying batches of
 * messages, fed from a bounded queue. The node loop never waits on the network: send() only
 * queues, and when the queue is full or the peer is down the message is dropped and the core
 * told (MsgUnreachable) — Raft retransmits what matters. After a failed call the peer backs
 * off exponentially (bounded, with jitter) before dialling again.
 */
import { MANAGER_CHANNEL_OPTIONS } from '../../../lib/tls.js';
import { connectivityState, type ChannelCredentials, type ClientWritableStream } from '@grpc/grpc-js';
import type { Clock, Timer } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import type { Random } from '../../../lib/random.js';
import { RaftServiceClient, type StreamMessagesRequest } from '../../../gen/tswarm/v1/raft.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { messageToWire } from './codec.js';
import { snapshotChunks } from './snapshot-chunks.js';

export interface PeerLimits {
  /** Messages queued for a peer at most; beyond it they are dropped (and the core told). */
  queueLengthMax: number;
  /** Messages per StreamMessages request at most. */
  batchMessagesMax: number;
  backoffMsMin: number;
  backoffMsMax: number;
  /** A snapshot stream taking longer than this fails (and the core retries later). */
  snapshotTimeoutMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  queueLengthMax: 4096, // a few Ready rounds of messages under load; more is a peer that does not keep up
  batchMessagesMax: 256,
  backoffMsMin: 50, // the election timeout is 1-2 s: a restarted peer should be reached well within it
  backoffMsMax: 2000,
  snapshotTimeoutMs: 60_000,
};

export interface PeerEvents {
  unreachable(id: NodeId): void;
  snapshotStatus(id: NodeId, status: 'finish' | 'failure'): void;
}

export interface PeerDeps {
  credentials: ChannelCredentials;
  clock: Clock;
  random: Random;
  logger: Logger;
  limits: PeerLimits;
  events: PeerEvents;
}

type State = 'idle' | 'streaming' | 'backoff' | 'closed';

export class Peer {
  private readonly client: RaftServiceClient;
  private call: ClientWritableStream<StreamMessagesRequest> | undefined;
  private queue: Message[] = [];
  private state: State = 'idle';
  private backoffMs: number;
  private backoffTimer: Timer | undefined;
  private flushScheduled = false;
  private waitingDrain = false;
  private snapshotInFlight = false;

  constructor(
    readonly id: NodeId,
    readonly addr: string,
    private readonly deps: PeerDeps,
  ) {
    this.client = new RaftServiceClient(addr, deps.credentials, {
      // Managers are verified by their certificate's DNS name, whatever address is dialled.
      ...MANAGER_CHANNEL_OPTIONS,
      // A dead peer behind a live TCP path (a partition) is noticed within seconds, not minutes.
      'grpc.keepalive_time_ms': 5000,
      'grpc.keepalive_timeout_ms': 2000,
      'grpc.max_receive_message_length': 8 * 1024 * 1024,
      'grpc.max_send_message_length': 8 * 1024 * 1024,
      'grpc.enable_channelz': 0, // per-call statistics nobody reads; costs CPU on every message batch
    });
    this.backoffMs = deps.limits.backoffMsMin;
  }

  /** Queues a message and sends it with this turn's batch; never blocks. See enqueue for the result. */
  send(m: Message): boolean {
    const queued = this.enqueue(m);
    if (queued) this.scheduleFlush();
    return queued;
  }

  /**
   * Queues a message without sending yet (the caller flushes once for a whole Ready's messages).
   * Returns whether it was queued: not if dropped (queue full or peer down; the core is told), nor
   * for a snapshot, which streams on its own call at once.
   */
  enqueue(m: Message): boolean {
    if (this.state === 'closed') return false;
    if (m.type === 'MsgSnap') {
      this.sendSnapshot(m);
      return false;
    }
    if (this.state === 'backoff' || this.queue.length >= this.deps.limits.queueLengthMax) {
      this.deps.events.unreachable(this.id);
      return false;
    }
    this.queue.push(m);
    return true;
  }

  queueLength(): number {
    return this.queue.length;
  }

  isDown(): boolean {
    return this.state === 'backoff';
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waitingDrain) return;
    this.flushScheduled = true;
    // Batching: everything queued in this turn of the event loop goes in one request.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes what is queued now, in batches, until HTTP/2 flow control pushes back. */
  flush(): void {
    if (this.state === 'closed' || this.state === 'backoff' || this.waitingDrain || this.queue.length === 0) return;
    const call = this.call ?? this.openStream();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.deps.limits.batchMessagesMax);
      if (!call.write({ messages: batch.map(messageToWire) })) {
        // HTTP/2 flow control pushes back: stop until it drains; meanwhile the queue bound holds.
        this.waitingDrain = true;
        call.once('drain', () => {
          this.waitingDrain = false;
          this.flush();
        });
        return;
      }
    }
    if (this.client.getChannel().getConnectivityState(false) === connectivityState.READY)
      this.backoffMs = this.deps.limits.backoffMsMin;
  }

  private openStream(): ClientWritableStream<StreamMessagesRequest> {
    const call = this.client.streamMessages((err) => {
      if (this.call === call) this.call = undefined;
      this.waitingDrain = false;
      if (err && this.state !== 'closed') this.enterBackoff(err.message);
    });
    call.on('error', () => undefined); // reported through the callback above
    this.call = call;
    this.state = 'streaming';
    return call;
  }

  private enterBackoff(reason: string): void {
    const dropped = this.queue.length;
    this.queue = [];
    this.state = 'backoff';
    const delayMs = this.backoffMs / 2 + this.deps.random.int(Math.max(1, Math.floor(this.backoffMs / 2)));
    this.deps.logger.debug(
      { peer: this.id, addr: this.addr, reason, dropped, delayMs },
      'raft peer unreachable; backing off',
    );
    this.deps.events.unreachable(this.id);
    this.backoffMs = Math.min(this.deps.limits.backoffMsMax, this.backoffMs * 2);
    this.backoffTimer = this.deps.clock.setTimer(delayMs, () => {
      this.backoffTimer = undefined;
      if (this.state !== 'backoff') return;
      this.state = 'idle';
      this.scheduleFlush();
    });
  }

  /** One snapshot at a time per peer; the core hears how it went (MsgSnapStatus) either way. */
  private sendSnapshot(m: Message): void {
    if (this.snapshotInFlight || this.state === 'backoff') {
      this.deps.events.snapshotStatus(this.id, 'failure');
      return;
    }
    this.snapshotInFlight = true;
    const done = (status: 'finish' | 'failure', reason?: string) => {
      this.snapshotInFlight = false;
      if (reason) this.deps.logger.warn({ peer: this.id, reason }, 'raft snapshot send failed');
      if (this.state !== 'closed') this.deps.events.snapshotStatus(this.id, status);
    };
    // gRPC deadlines are wall-clock times, whatever clock drives the node.
    const deadline = Date.now() + this.deps.limits.snapshotTimeoutMs;
    const call = this.client.streamSnapshot({ deadline }, (err) =>
      err ? done('failure', err.message) : done('finish'),
    );
    call.on('error', () => undefined); // reported through the callback above
    const chunks = snapshotChunks(m);
    const writeMore = (): void => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!call.write(next.value)) {
          call.once('drain', writeMore);
          return;
        }
      }
      call.end();
    };
    writeMore();
  }

  close(): void {
    this.state = 'closed';
    this.queue = [];
    this.backoffTimer?.cancel();
    this.call?.end();
    this.call = undefined;
    this.client.close();
  }
}
