/**
 * What the receiving side of the Raft transport drops before the node sees it, counted by
 * reason so that an operator (and a test) can see "dropped at the transport", and logged at a
 * bounded rate: a peer that keeps sending what is refused must not turn into a log line per
 * message.
 */
import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import type { NodeId } from '../core/types.js';

/** Why a received message was dropped. Stable names: they are the keys of the counter. */
export type DropReason =
  /** No certificate of this cluster, or one without a node ID. */
  | 'no-identity'
  | 'other-cluster'
  /** The certificate's OU is not the manager role. */
  | 'not-a-manager-certificate'
  /** The message's `from` is not the node the certificate names. */
  | 'sender-not-caller'
  /** The store revoked the certificate's serial (its node changed role since): manager/authz/revocation.ts. */
  | 'certificate-revoked'
  /** The sender is neither a voter nor a learner of this member's current configuration. */
  | 'not-a-member'
  /** The store holds the sender as a worker: neither a manager nor a node to become one. */
  | 'not-a-manager'
  /** MsgProp or MsgTransferLeader: requests a member makes of itself, never taken from the network. */
  | 'local-request'
  /** MsgApp, MsgHeartbeat, MsgSnap, MsgTimeoutNow or MsgReadIndexResp from a sender that is not a voter. */
  | 'leader-message-from-non-voter'
  /** MsgVote or MsgPreVote from a sender that is not a voter. */
  | 'vote-from-non-voter'
  /** Addressed to another member. */
  | 'wrong-recipient'
  /** A MsgSnap on the message stream: a snapshot travels only on StreamSnapshot, where it is verified. */
  | 'snapshot-on-message-stream'
  | 'malformed';

export interface DroppedCounts {
  total: number;
  byReason: Partial<Record<DropReason, number>>;
}

/** At most one log line per this interval, however many messages are dropped. */
export const DROP_LOG_INTERVAL_MS = 10_000;

export class DroppedMessages {
  private total = 0;
  private readonly byReason = new Map<DropReason, number>();
  private sinceLastLog = 0;
  private lastLogMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly logIntervalMs = DROP_LOG_INTERVAL_MS,
  ) {}

  /** Counts `count` messages dropped for `reason`; logs one line if none was logged within the interval. */
  count(reason: DropReason, from: NodeId, type: string, count = 1): void {
    if (count <= 0) return;
    this.total += count;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + count);
    this.sinceLastLog += count;
    const nowMs = this.clock.nowMs();
    if (this.lastLogMs !== undefined && nowMs - this.lastLogMs < this.logIntervalMs) return;
    // The line names the latest drop and how many went unlogged since the last line; the
    // counter holds the rest.
    this.logger.warn(
      { reason, from, type, dropped: this.sinceLastLog, droppedTotal: this.total },
      'raft transport: dropped messages the sender may not send',
    );
    this.lastLogMs = nowMs;
    this.sinceLastLog = 0;
  }

  counts(): DroppedCounts {
    return { total: this.total, byReason: Object.fromEntries(this.byReason) };
  }
}
