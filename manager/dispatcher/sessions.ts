import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';

/** One worker session: its streams end when `ended` aborts (replaced, leadership lost, closed). */
export interface Session {
  readonly id: string;
  readonly nodeId: string;
  readonly ended: AbortSignal;
}

/**
 * The leader's sessions, one per node: a node that opens a second session (its agent reconnected,
 * or another process holds its identity) replaces the first, whose streams end with a status that
 * says so. Bounded by the store's nodes: only members get here (authorization checks it).
 */
export class SessionRegistry {
  private byNode = new Map<string, { session: Session; end: AbortController }>();

  open(nodeId: string): Session {
    const previous = this.byNode.get(nodeId);
    previous?.end.abort(
      new TswarmError(
        'CONFLICT',
        `session ${previous.session.id} of node ${nodeId} was replaced by a newer session of the same node. An agent that still holds it must open a new one`,
      ),
    );
    const end = new AbortController();
    const session = { id: newId(), nodeId, ended: end.signal };
    this.byNode.set(nodeId, { session, end });
    return session;
  }

  /** The node's current session with this ID; a stale or unknown ID is refused with what to do. */
  current(nodeId: string, sessionId: string): Session {
    const s = this.byNode.get(nodeId)?.session;
    if (!s || s.id !== sessionId || s.ended.aborted)
      throw new TswarmError(
        'NOT_FOUND',
        `session ${sessionId || '(none)'} is not node ${nodeId}'s current session on the leader. Open a new session`,
      );
    return s;
  }

  /** Ends a session when its own stream ends, unless a newer one has replaced it already. */
  close(session: Session): void {
    const entry = this.byNode.get(session.nodeId);
    if (entry?.session !== session) return;
    this.byNode.delete(session.nodeId);
    entry.end.abort(new TswarmError('UNAVAILABLE', `session ${session.id} ended`));
  }

  /** Leadership lost (or the manager stops): every session ends, and workers reconnect to the new leader. */
  closeAll(reason: TswarmError): void {
    for (const { end } of this.byNode.values()) end.abort(reason);
    this.byNode.clear();
  }

  size(): number {
    return this.byNode.size;
  }
}
