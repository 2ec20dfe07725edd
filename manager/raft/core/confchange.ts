/**
 * Membership changes, one member at a time: the entry carries a ConfChange; every member
 * switches to the new configuration when it applies the entry (as etcd-io/raft does). One at a
 * time keeps any two consecutive majorities overlapping, so no joint consensus is needed.
 */
import type { ConfChange, ConfState, NodeId } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId, addr: cc.addr }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const raw = JSON.parse(decoder.decode(data)) as Partial<ConfChange>;
  if (
    (raw.type !== 'addVoter' && raw.type !== 'addLearner' && raw.type !== 'remove') ||
    typeof raw.nodeId !== 'string' ||
    typeof raw.addr !== 'string'
  ) {
    throw new Error(`raft: malformed conf change ${decoder.decode(data)}`);
  }
  return { type: raw.type, nodeId: raw.nodeId, addr: raw.addr };
}

/**
 * Why a change must be refused against the configuration it would apply to, or undefined if
 * it is acceptable. Refusing here (at proposal) is a courtesy; apply re-checks nothing, so a
 * refused change is replaced by an empty entry rather than entering the log.
 */
export function confChangeRefusal(cs: ConfState, cc: ConfChange): string | undefined {
  const isVoter = cs.voters.includes(cc.nodeId);
  const isLearner = cs.learners.includes(cc.nodeId);
  if (cc.nodeId === '') return 'a conf change needs a node ID';
  if (cc.type === 'remove') {
    if (!isVoter && !isLearner) return `${cc.nodeId} is not a member`;
    if (isVoter && cs.voters.length === 1) return 'cannot remove the last voter';
  }
  if (cc.type === 'addLearner' && isVoter && cs.voters.length === 1) return 'cannot demote the last voter';
  return undefined;
}

/** The configuration after applying cc to cs (pure; the tracker is updated from it). */
export function applyToConfState(cs: ConfState, cc: ConfChange): ConfState {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case 'addVoter':
      return { voters: [...without(cs.voters), cc.nodeId].sort(), learners: without(cs.learners) };
    case 'addLearner':
      return { voters: without(cs.voters), learners: [...without(cs.learners), cc.nodeId].sort() };
    case 'remove':
      return { voters: without(cs.voters), learners: without(cs.learners) };
  }
}

export function describeConfState(cs: ConfState): string {
  let s = `voters=(${cs.voters.join(' ')})`;
  if (cs.learners.length > 0) s += ` learners=(${cs.learners.join(' ')})`;
  return s;
}
