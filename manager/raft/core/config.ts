/** How a Raft member is configured. Every limit has a default and a reason. */
import { assert } from '../../../lib/assert.js';
import { NOOP_LOGGER, type BasicLogger } from '../../../lib/logger.js';
import type { Random } from '../../../lib/random.js';
import type { RaftStorage } from './storage.js';
import type { NodeId } from './types.js';

export interface RaftConfig {
  id: NodeId;
  storage: RaftStorage;
  /** Randomises election timeouts; a SeededRandom in tests and simulation. */
  random: Random;
  /** Ticks without hearing from a leader before campaigning, randomised in [electionTicks, 2*electionTicks). */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats; must be well below electionTicks. */
  heartbeatTicks?: number;
  /** The state machine's applied index at restart, if it is durable beyond the latest snapshot. */
  applied?: number;
  /** Payload bytes per MsgApp at most (one entry is always sent even if larger). */
  maxSizePerMsgBytes?: number;
  /** MsgApp in flight per follower at most, in replicate state. */
  maxInflightMsgs?: number;
  /** Payload bytes in flight per follower at most; 0 = only the message count limits. */
  maxInflightBytes?: number;
  /** Uncommitted payload bytes a leader accepts before dropping proposals. */
  maxUncommittedEntriesBytes?: number;
  /** Committed payload bytes handed out per Ready at most. */
  maxApplyingBytes?: number;
  /** ReadIndex requests waiting for their heartbeat round (or a first commit) at most. */
  maxPendingReadIndex?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /**
   * A follower drops proposals instead of forwarding them to the leader as MsgProp (etcd's
   * DisableProposalForwarding). A manager sets it: proposals reach the leader as authorized
   * RPCs, and its transport never accepts MsgProp from the network (docs/security.md).
   */
  disableProposalForwarding?: boolean;
  /** Where the core reports what it decided (messages only); the node passes a pino child logger. */
  logger?: BasicLogger;
}

export type ResolvedConfig = Required<RaftConfig>;

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  const resolved: ResolvedConfig = {
    electionTicks: 10, // 10 ticks of 100 ms, randomised 10-20 (docs/architecture.md, Timing defaults)
    heartbeatTicks: 1,
    applied: 0,
    maxSizePerMsgBytes: 1024 * 1024, // keeps one append well under gRPC's 4 MiB message limit
    maxInflightMsgs: 256, // with 1 MiB messages: at most 256 MiB buffered per follower
    maxInflightBytes: 0,
    maxUncommittedEntriesBytes: 64 * 1024 * 1024, // a leader without quorum stops accepting after this
    maxApplyingBytes: 64 * 1024 * 1024,
    maxPendingReadIndex: 4096,
    checkQuorum: true,
    preVote: true,
    disableProposalForwarding: false,
    logger: NOOP_LOGGER,
    ...stripUndefined(c),
  } as ResolvedConfig;
  assert(resolved.id !== '', 'config: a raft member needs a non-empty ID');
  assert(resolved.heartbeatTicks > 0, 'config: heartbeatTicks must be positive');
  assert(resolved.electionTicks > resolved.heartbeatTicks, 'config: electionTicks must exceed heartbeatTicks');
  assert(resolved.maxInflightMsgs > 0, 'config: maxInflightMsgs must be positive');
  return resolved;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
