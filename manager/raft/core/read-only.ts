/**
 * ReadIndex (Raft thesis §6.4): a linearizable read without writing to the log. The leader
 * records its commit index for the request, confirms it is still leader with a round of
 * heartbeats carrying the request's context, and once a majority answered, the read may be
 * served when the state machine has applied up to that index.
 */
import type { Message } from './messages.js';
import type { NodeId } from './types.js';

export interface ReadState {
  /** Serve the read once the state machine has applied this index. */
  index: number;
  /** The context the read was requested with. */
  requestCtx: string;
}

interface ReadIndexStatus {
  request: Message;
  index: number;
  acks: Set<NodeId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Contexts in arrival order: confirming one confirms every earlier one too. */
  private readonly queue: string[] = [];

  /** @param maxPending requests waiting for confirmation at most; more are refused */
  constructor(readonly maxPending: number) {}

  /** Returns false when refused: the context is already pending, or the queue is full. */
  addRequest(index: number, request: Message): boolean {
    const ctx = request.context;
    if (this.pending.has(ctx) || this.queue.length >= this.maxPending) return false;
    this.pending.set(ctx, { request, index, acks: new Set() });
    this.queue.push(ctx);
    return true;
  }

  /** Records a heartbeat acknowledgement; returns who acknowledged ctx so far (undefined if unknown). */
  recvAck(from: NodeId, ctx: string): ReadonlySet<NodeId> | undefined {
    const status = this.pending.get(ctx);
    if (!status) return undefined;
    status.acks.add(from);
    return status.acks;
  }

  /** Releases every request up to and including ctx, in order. */
  advance(ctx: string): { request: Message; index: number }[] {
    const at = this.queue.indexOf(ctx);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    const out: { request: Message; index: number }[] = [];
    for (const c of released) {
      const status = this.pending.get(c)!;
      this.pending.delete(c);
      out.push({ request: status.request, index: status.index });
    }
    return out;
  }

  lastPendingRequestCtx(): string {
    return this.queue[this.queue.length - 1] ?? '';
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
