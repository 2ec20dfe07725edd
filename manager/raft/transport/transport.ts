/**
 * The Raft transport: an address book (member ID → host:port, updated by conf changes), one
 * outbound Peer per member, and the RaftService that hands received messages to the node.
 * Credentials come from the caller (mutual TLS in production, insecure on loopback in tests).
 */
import type { ChannelCredentials, Server } from '@grpc/grpc-js';
import { systemClock, type Clock } from '../../../lib/clock.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import { cryptoRandom, type Random } from '../../../lib/random.js';
import { RaftServiceService } from '../../../gen/tswarm/v1/raft.js';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { DroppedMessages, type DroppedCounts } from './dropped.js';
import { DEFAULT_PEER_LIMITS, Peer, type PeerEvents, type PeerLimits } from './peer.js';
import { createRaftService, SNAPSHOT_BYTES_MAX_DEFAULT, type AuthorizeSender } from './server.js';

export interface TransportHandler extends PeerEvents {
  receive(m: Message): void;
}

/**
 * The credentials for dialling a peer: one for all (tests, the benchmark), or made per peer so
 * the dial checks the server's certificate names that member (lib/manager-identity.ts).
 */
export type PeerCredentials = ChannelCredentials | ((peer: { id: NodeId; addr: string }) => ChannelCredentials);

export interface TransportOptions {
  id: NodeId;
  credentials: PeerCredentials;
  handler: TransportHandler;
  /**
   * Defaults to: `from` is in the address book (a current member), whatever its certificate —
   * for tests and the benchmark's KV server; a manager passes manager/authz/raft-sender.ts.
   */
  authorizeSender?: AuthorizeSender;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  limits?: Partial<PeerLimits>;
  snapshotBytesMax?: number;
}

export class Transport {
  private readonly addresses = new Map<NodeId, string>();
  private readonly peers = new Map<NodeId, Peer>();
  private readonly limits: PeerLimits;
  private readonly logger: Logger;
  private readonly dropped: DroppedMessages;
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    this.limits = { ...DEFAULT_PEER_LIMITS, ...options.limits };
    this.logger = options.logger ?? silentLogger();
    this.dropped = new DroppedMessages(options.clock ?? systemClock, this.logger);
  }

  /** Adds the RaftService to a server the caller owns (it may serve other services too). */
  register(server: Server): void {
    const members: AuthorizeSender = () => (m) =>
      this.addresses.has(m.from) ? { accept: true } : { accept: false, reason: 'not-a-member', refuseCaller: true };
    server.addService(
      RaftServiceService,
      createRaftService({
        id: this.options.id,
        receive: (m) => {
          if (!this.closed) this.options.handler.receive(m);
        },
        authorizeSender: this.options.authorizeSender ?? members,
        dropped: this.dropped,
        snapshotBytesMax: this.options.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
        logger: this.logger,
      }),
    );
  }

  /** How many received messages were dropped before the node saw them, by reason. */
  droppedMessages(): DroppedCounts {
    return this.dropped.counts();
  }

  /** Sets (or changes) a member's address. Our own entry is kept for lookups but never dialled. */
  setPeer(id: NodeId, addr: string): void {
    if (this.addresses.get(id) === addr) return;
    this.addresses.set(id, addr);
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  removePeer(id: NodeId): void {
    this.addresses.delete(id);
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  address(id: NodeId): string | undefined {
    return this.addresses.get(id);
  }

  addressBook(): Map<NodeId, string> {
    return new Map(this.addresses);
  }

  /**
   * Sends without ever blocking; undeliverable messages are reported to the core as unreachable.
   * A Ready's messages leave at once, one batch per peer, rather than a turn of the loop later.
   */
  send(messages: readonly Message[]): void {
    const touched = new Set<Peer>();
    for (const m of messages) {
      if (this.closed || m.to === this.options.id) continue;
      const peer = this.peer(m.to);
      if (!peer) this.options.handler.unreachable(m.to);
      else if (peer.enqueue(m)) touched.add(peer);
    }
    for (const p of touched) p.flush();
  }

  /** For tests and status: the peer's queue length and whether it is backing off. */
  peerState(id: NodeId): { queueLength: number; down: boolean } | undefined {
    const p = this.peers.get(id);
    return p ? { queueLength: p.queueLength(), down: p.isDown() } : undefined;
  }

  private peer(id: NodeId): Peer | undefined {
    let p = this.peers.get(id);
    if (p) return p;
    const addr = this.addresses.get(id);
    if (addr === undefined) return undefined;
    const { credentials } = this.options;
    p = new Peer(id, addr, {
      credentials: typeof credentials === 'function' ? credentials({ id, addr }) : credentials,
      clock: this.options.clock ?? systemClock,
      random: this.options.random ?? cryptoRandom,
      logger: this.logger,
      limits: this.limits,
      events: this.options.handler,
    });
    this.peers.set(id, p);
    return p;
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }
}
