import type { ExpectedManager } from '../lib/manager-identity.js';

/** A manager as the cluster names it to a node: its node ID and the address it advertises. */
export interface ManagerPeer {
  nodeId: string;
  addr: string;
}

/**
 * At most this many managers are kept. A cluster runs 3, 5 or 7; a longer list from an answer or
 * a file is cut, so nothing a manager or the disk says can grow the node's rotation without bound.
 */
export const KNOWN_MANAGERS_MAX = 16;

export interface KnownManagersOptions {
  /**
   * The node's own manager on loopback (a manager node): tried first, and known to be itself — but
   * never alone. Right after a manager joins, its replica may not hold its own node yet (the leader
   * is still sending it the log) and answers "removed"; with only itself to ask, every beat got that
   * answer and the node believed it (the lab's rare failure to form the swarm). With the others
   * behind it, such an answer moves the next beat on to one that holds the node (removal.ts).
   */
  local?: ManagerPeer;
  /** The managers a previous run of the daemon knew (managers.json), the one it last used first. */
  persisted?: readonly ManagerPeer[];
  /**
   * The addresses the node joined through (node.json): all it knows before its first answer, and
   * after that a last resort behind the managers the cluster names.
   */
  joinAddrs?: readonly string[];
  /** The list worth persisting changed (members or order): see persistable(). */
  onChange?: (managers: ManagerPeer[]) => void;
}

/**
 * The managers a node can reach, in the order it tries them — one list shared by the heartbeats
 * and the task agent's session, so both talk to the same manager and both leave one that failed.
 *
 * The manager in use stays first while it answers; one that fails goes to the back (so the
 * others are tried in turn, and a restarted daemon starts with the one that worked last). Answers
 * (heartbeats, sessions) name every manager with its node ID; those pairs are what the dial-side
 * check expects at each address (lib/manager-identity.ts), and what managers.json keeps, so a
 * restarted node expects a known manager at every address it dials — also at its join address.
 */
export class KnownManagers {
  private local: ManagerPeer | undefined;
  /** Node ID by address, of the managers the last answer (or the persisted file) named. */
  private named = new Map<string, string>();
  private readonly joinAddrs: readonly string[];
  /** Every address to try, the one in use first. */
  private order: string[];
  private lastPersistable: string;

  constructor(private readonly o: KnownManagersOptions = {}) {
    this.local = o.local;
    this.joinAddrs = (o.joinAddrs ?? []).filter((a) => a !== '').slice(0, KNOWN_MANAGERS_MAX);
    const persisted = (o.persisted ?? []).filter((m) => m.addr !== '' && m.nodeId !== '').slice(0, KNOWN_MANAGERS_MAX);
    this.named = new Map(persisted.map((m) => [m.addr, m.nodeId]));
    this.order = unique([...(this.local ? [this.local.addr] : []), ...persisted.map((m) => m.addr), ...this.joinAddrs]);
    this.lastPersistable = JSON.stringify(this.persistable());
  }

  /** The addresses to try, in order: the manager in use first. */
  candidates(): string[] {
    return [...this.order];
  }

  /**
   * An answer named the cluster's managers (nodes with the manager role and an address): they
   * replace those named before. Addresses no longer named leave the rotation, except the node's
   * own manager and its join addresses; new ones join at the back, so the one in use stays first.
   */
  learn(peers: readonly ManagerPeer[]): void {
    const valid = peers.filter((m) => m.addr !== '' && m.nodeId !== '').slice(0, KNOWN_MANAGERS_MAX);
    if (valid.length === 0) return;
    this.named = new Map(valid.map((m) => [m.addr, m.nodeId]));
    const kept = this.order.filter((a) => a === this.local?.addr || this.named.has(a) || this.joinAddrs.includes(a));
    this.order = unique([...kept, ...valid.map((m) => m.addr)]);
    this.changed();
  }

  /**
   * The manager at `addr` failed (it did not answer, or answered as no manager should): it goes to
   * the back, and the next one is tried. Returns the address now first.
   */
  failed(addr: string): string | undefined {
    const i = this.order.indexOf(addr);
    if (i >= 0 && this.order.length > 1) {
      this.order.splice(i, 1);
      this.order.push(addr);
      this.changed();
    }
    return this.order[0];
  }

  /** The node's own manager started (promotion) or stopped (demotion). */
  setLocal(local: ManagerPeer | undefined): void {
    const old = this.local?.addr;
    this.local = local;
    const rest = this.order.filter((a) => a !== old && a !== local?.addr);
    this.order = unique([...(local ? [local.addr] : []), ...rest]);
    this.changed();
  }

  /**
   * Which manager the node expects at `addr` when it dials it: itself at its own manager; the one
   * an answer named there; else any of the managers it knows (a join address no answer named).
   * Only a node that knows none — after its join, before the first answer, and with no persisted
   * list — accepts any manager of its cluster, as the join itself did (verified by the CA digest
   * in the token).
   */
  expectedAt(addr: string): ExpectedManager {
    const exact = this.nodeIdAt(addr);
    if (exact) return { addr, nodeIds: [exact] };
    const all = [...(this.local ? [this.local.nodeId] : []), ...this.named.values()];
    return { addr, nodeIds: unique(all) };
  }

  /** The node ID known at `addr`, or undefined. */
  nodeIdAt(addr: string): string | undefined {
    if (this.local && addr === this.local.addr) return this.local.nodeId;
    return this.named.get(addr);
  }

  /** Every address to try, with the node ID known there ('' for a join address no answer named). */
  peers(): ManagerPeer[] {
    return this.order.map((addr) => ({ nodeId: this.nodeIdAt(addr) ?? '', addr }));
  }

  /**
   * What a restarted daemon should start from (managers.json): the managers the cluster named, in
   * the order tried, so the one in use comes first. The loopback address of the node's own manager
   * is left out unless the cluster names it (it is known without a file), and so are join
   * addresses no answer named.
   */
  persistable(): ManagerPeer[] {
    return this.order.filter((a) => this.named.has(a)).map((addr) => ({ nodeId: this.named.get(addr)!, addr }));
  }

  private changed(): void {
    const now = this.persistable();
    const text = JSON.stringify(now);
    if (text === this.lastPersistable) return;
    this.lastPersistable = text;
    this.o.onChange?.(now);
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
