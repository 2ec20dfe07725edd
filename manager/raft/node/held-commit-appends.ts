/**
 * When the commit index moves, the core sends each follower an append without entries just to
 * say so. The node loop holds such an append back until the next tick, and drops it if an
 * append with entries goes to that follower first: that one carries the same or a newer commit
 * index. With one client that is nearly always so (its next write's append follows within a
 * millisecond), which halves the messages per write between members, and the answers to them.
 *
 * Delaying or dropping a message is always safe in Raft (the network may do both); the commit
 * index a follower knows decides only when it applies entries, never which.
 */
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';

export class HeldCommitAppends {
  /** At most one per follower: a newer commit-only append replaces the held one. */
  private readonly held = new Map<NodeId, Message>();

  /**
   * Returns the messages to send now; keeps the commit-only appends to followers for which
   * `mayHold` is true (in replicate state: in probe state an append pauses the flow until it
   * is answered, so it must go).
   */
  filter(messages: readonly Message[], mayHold: (to: NodeId) => boolean): Message[] {
    const send: Message[] = [];
    for (const m of messages) {
      if (m.type === 'MsgApp') {
        if (m.entries.length === 0 && mayHold(m.to)) {
          this.held.set(m.to, m);
          continue;
        }
        this.held.delete(m.to);
      }
      send.push(m);
    }
    return send;
  }

  /** Everything held, now due (at a tick: a follower learns the commit index within one). */
  takeAll(): Message[] {
    const due = [...this.held.values()];
    this.held.clear();
    return due;
  }

  clear(): void {
    this.held.clear();
  }
}
