/**
 * A member that fell behind its cluster's membership — down, or cut off, while a new manager
 * joined and came to lead — holds a configuration that does not name its leader, and its Raft
 * transport refuses that leader (manager/authz/raft-sender.ts): it would never catch up. It
 * finds out as a joining manager does, by asking: JoinRaft, an authorized RPC that the leader
 * answers (and that changes no membership for a member), names the voters and the index that
 * list holds at; the member then takes Raft messages from those voters until it has applied
 * that much itself (Manager.learnPeers).
 */
import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { TswarmError } from '../../lib/errors.js';
import { callUnary } from '../../lib/grpc.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../lib/tls.js';
import { RaftMembershipServiceClient, type JoinRaftResponse } from '../../gen/tswarm/v1/raft.js';

/**
 * At most one question per this interval: each costs an RPC per manager tried and a store
 * write on the leader, and a member that is only between two leaders needs none.
 */
export const ASK_WHO_LEADS_EVERY_MS = 10_000;

export interface WhoLeadsAsked {
  atMs: number;
  /** The transport's count of senders refused as non-members when it asked. */
  refusedNonMembers: number;
}

/**
 * Whether to ask now: this member has no leader, and its transport refused a sender outside its
 * configuration since it last asked (a leader it does not know may be knocking), and it did not
 * ask within the interval.
 */
export function shouldAskWhoLeads(
  now: { hasLeader: boolean; refusedNonMembers: number; nowMs: number },
  last: WhoLeadsAsked | undefined,
): boolean {
  if (now.hasLeader || now.refusedNonMembers <= (last?.refusedNonMembers ?? 0)) return false;
  return last === undefined || now.nowMs - last.atMs >= ASK_WHO_LEADS_EVERY_MS;
}

/** JoinRaft on each manager address in turn until one answers (a follower forwards it to the leader). */
export async function askWhoLeads(o: {
  managerAddrs: readonly string[];
  /** This member's Raft address, as JoinRaft takes it. */
  advertiseAddr: string;
  /** Per address: credentials that check the manager answering is one this member expects there. */
  credentials: (addr: string) => ChannelCredentials;
  deadlineMs: number;
}): Promise<JoinRaftResponse> {
  let lastError: unknown;
  for (const addr of o.managerAddrs) {
    const client = new RaftMembershipServiceClient(addr, o.credentials(addr), MANAGER_CHANNEL_OPTIONS);
    try {
      return await callUnary(client.joinRaft.bind(client), new Metadata(), { addr: o.advertiseAddr }, o.deadlineMs);
    } catch (err) {
      lastError = err;
    } finally {
      client.close();
    }
  }
  throw new TswarmError(
    'UNAVAILABLE',
    `no manager answered who leads (tried ${o.managerAddrs.length}). This manager retries while it has no leader`,
    { cause: lastError },
  );
}
