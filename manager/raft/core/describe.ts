/**
 * Human-readable renderings of Raft data, in etcd-io/raft's style: the interaction tests'
 * golden output and debugging logs use them, so they are stable and compact.
 */
import { decodeConfChange } from './confchange.js';
import type { Message } from './messages.js';
import { describeConfState } from './confchange.js';
import type { Ready } from './rawnode.js';
import type { ConfChange, Entry, HardState, Snapshot } from './types.js';

const decoder = new TextDecoder();

export function describeConfChange(cc: ConfChange): string {
  const letter = cc.type === 'addVoter' ? 'v' : cc.type === 'addLearner' ? 'l' : 'r';
  return `${letter}${cc.nodeId}`;
}

export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    let what: string;
    try {
      what = describeConfChange(decodeConfChange(e.data));
    } catch {
      what = '<malformed>';
    }
    return `${e.term}/${e.index} EntryConfChange ${what}`;
  }
  return `${e.term}/${e.index} EntryNormal ${JSON.stringify(decoder.decode(e.data))}`;
}

export function describeEntries(es: readonly Entry[]): string {
  return es.map(describeEntry).join(', ');
}

export function describeHardState(hs: HardState): string {
  return `HardState Term:${hs.term} Vote:${hs.vote || 0} Commit:${hs.commit}`;
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

export function describeMessage(m: Message): string {
  let s = `${m.from || 0}->${m.to || 0} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${describeEntries(m.entries)}]`;
  if (m.snapshot) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
  if (m.context !== '') s += ` Context:${m.context}`;
  return s;
}

/** A Ready as indented lines. */
export function describeReady(rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState) out.push(`Lead:${rd.softState.lead || 0} State:${rd.softState.raftState}`);
  if (rd.hardState) out.push(describeHardState(rd.hardState));
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map(describeEntry));
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(describeEntry));
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(describeMessage));
  if (rd.messagesAfterPersist.length > 0)
    out.push('MessagesAfterPersist:', ...rd.messagesAfterPersist.map(describeMessage));
  if (rd.readStates.length > 0) {
    out.push('ReadStates:', ...rd.readStates.map((rs) => `Index:${rs.index} RequestCtx:${rs.requestCtx}`));
  }
  return out;
}
