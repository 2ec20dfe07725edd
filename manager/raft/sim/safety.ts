/**
 * Raft's safety properties (paper, Figure 3), checked as the simulation runs:
 * - election safety: at most one leader per term;
 * - log matching: two logs holding an entry with the same index and term are identical up to it;
 * - leader completeness: a leader's log holds every entry committed before its term;
 * - state machine safety: no two members apply different entries at the same index.
 */
import type { Entry, NodeId } from '../core/types.js';
import type { SimNode } from './sim-node.js';

const decoder = new TextDecoder();

function entryKey(e: Entry): string {
  return `${e.term}|${e.type}|${decoder.decode(e.data)}`;
}

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** index -> the entry every member applied there. */
  private readonly applied = new Map<number, { term: number; key: string }>();
  /** `${index}/${term}` -> entry, for log matching across members' durable writes. */
  private readonly byIndexTerm = new Map<string, string>();

  private fail(what: string): void {
    // Bounded: the first few violations say all there is to say.
    if (this.violations.length < 20) this.violations.push(what);
  }

  observeLeaders(nodes: readonly SimNode[], now: number): void {
    for (const n of nodes) {
      if (!n.isLeader()) continue;
      const term = n.rn.raft.term;
      const known = this.leaderOfTerm.get(term);
      if (known === undefined) {
        this.leaderOfTerm.set(term, n.id);
        this.checkLeaderCompleteness(n, now);
      } else if (known !== n.id) {
        this.fail(`election safety: ${known} and ${n.id} both led term ${term} (tick ${now})`);
      }
    }
  }

  /** Every entry applied anywhere (so committed) with a lower term is in the new leader's log. */
  private checkLeaderCompleteness(n: SimNode, now: number): void {
    const log = n.rn.raft.raftLog;
    const first = log.firstIndex();
    for (const [index, { term }] of this.applied) {
      if (index < first) continue; // inside the leader's snapshot: committed state it holds
      if (log.term(index) !== term) {
        this.fail(
          `leader completeness: ${n.id} leads term ${n.rn.raft.term} without committed entry ${index} (term ${term}) (tick ${now})`,
        );
      }
    }
  }

  /** Entries a member made durable: the same (index, term) must always carry the same entry. */
  observePersisted(node: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      const k = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const known = this.byIndexTerm.get(k);
      if (known === undefined) this.byIndexTerm.set(k, key);
      else if (known !== key) this.fail(`log matching: ${node.id} holds a different entry at ${k}`);
    }
  }

  observeApplied(node: SimNode, e: Entry): void {
    const known = this.applied.get(e.index);
    const key = entryKey(e);
    if (known === undefined) this.applied.set(e.index, { term: e.term, key });
    else if (known.key !== key) this.fail(`state machine safety: ${node.id} applied a different entry at ${e.index}`);
  }

  /** Log matching, prefix form: where two logs agree on an (index, term), they agree before it. */
  checkLogMatching(nodes: readonly SimNode[], windowEntries: number): void {
    const up = nodes.filter((n) => n.up);
    for (let a = 0; a < up.length; a++) {
      for (let b = a + 1; b < up.length; b++) this.comparePair(up[a]!, up[b]!, windowEntries);
    }
  }

  private comparePair(a: SimNode, b: SimNode, windowEntries: number): void {
    const la = a.rn.raft.raftLog;
    const lb = b.rn.raft.raftLog;
    const hi = Math.min(la.lastIndex(), lb.lastIndex());
    const lo = Math.max(la.firstIndex(), lb.firstIndex(), hi - windowEntries);
    let agreed = false;
    for (let i = hi; i >= lo; i--) {
      const same = la.term(i) === lb.term(i);
      if (agreed && !same) {
        this.fail(`log matching: ${a.id} and ${b.id} agree at a later index but differ at ${i}`);
        return;
      }
      agreed ||= same;
    }
  }

  leaders(): number {
    return this.leaderOfTerm.size;
  }

  appliedCount(): number {
    return this.applied.size;
  }
}
