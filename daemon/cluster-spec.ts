import type { ClusterSpec, RaftConfig } from '../gen/tswarm/v1/objects.js';
import { TswarmError } from '../lib/errors.js';
import { ELECTION_TICKS_DEFAULT, HEARTBEAT_TICKS_DEFAULT, RAFT_TICK_MS_DEFAULT } from '../manager/store/new-cluster.js';
import type { RaftTimings } from './node-config.js';

const TICK_MS_MIN = 10;
const TICK_MS_MAX = 10_000;
const ELECTION_TICKS_MAX = 1_000;

/** Timings Raft can live with: a leader must heartbeat well within an election timeout. */
export function checkRaftTimings(t: RaftTimings): void {
  if (t.tickMs < TICK_MS_MIN || t.tickMs > TICK_MS_MAX) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the Raft tick must be between ${TICK_MS_MIN}ms and ${TICK_MS_MAX / 1000}s, got ${t.tickMs}ms. Use e.g. --raft-tick 100ms`,
    );
  }
  if (t.electionTicks > ELECTION_TICKS_MAX || t.electionTicks <= t.heartbeatTicks) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `election ticks must be more than the heartbeat's ${t.heartbeatTicks} and at most ${ELECTION_TICKS_MAX}, got ${t.electionTicks}. Use e.g. --election-ticks 10`,
    );
  }
}

/** The timings a manager starts Raft with; zero (unset) fields take the defaults. */
export function raftTimings(raft: RaftConfig | undefined): RaftTimings | undefined {
  if (!raft) return undefined;
  return {
    tickMs: raft.tickMs || RAFT_TICK_MS_DEFAULT,
    electionTicks: raft.electionTick || ELECTION_TICKS_DEFAULT,
    heartbeatTicks: raft.heartbeatTick || HEARTBEAT_TICKS_DEFAULT,
  };
}

/** Init's spec over the defaults: fields left zero (unset) keep the default. */
export function mergeSpec(base: ClusterSpec, given: ClusterSpec | undefined): ClusterSpec {
  if (!given) return base;
  return {
    annotations: base.annotations,
    orchestration: base.orchestration,
    raft: { ...base.raft!, ...nonZero(given.raft) },
    dispatcher: { ...base.dispatcher!, ...nonZero(given.dispatcher) },
    caConfig: { ...base.caConfig!, ...nonZero(given.caConfig) },
  };
}

function nonZero<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0 && v !== undefined)) as Partial<T>;
}
