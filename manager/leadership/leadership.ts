/**
 * Leadership as an event (SwarmKit's manager runs its leader-only components the same way): the
 * Raft node reports each change of its role, and this module tells subscribers "gained in term T"
 * or "lost", and starts the registered leader-only components on gaining and stops them on
 * losing. A component never asks "am I the leader?" on a timer, and its leader-only state (the
 * heartbeat clocks, a plan in progress) lives from its start() to its stop(), never across terms.
 */
import type { BasicLogger } from '../../lib/logger.js';

export type LeadershipEvent = { kind: 'gained'; term: number } | { kind: 'lost'; term: number };

/** What the Raft node reports: whether this member leads now, and in which term. */
export interface RaftRole {
  leading: boolean;
  term: number;
}

/** A part that runs only while this manager leads. */
export interface LeaderComponent {
  readonly name: string;
  /** Called on gaining leadership; `signal` aborts when leadership is lost (or the manager stops). */
  start(signal: AbortSignal, term: number): void;
  /** Called after the signal aborted; resolves once the component has stopped doing leader work. */
  stop(): Promise<void>;
}

export class Leadership {
  /** The term this member leads in, or undefined while it does not lead. */
  private leadingTerm: number | undefined;
  private readonly listeners = new Set<(e: LeadershipEvent) => void>();
  private readonly components: LeaderComponent[] = [];
  private running: AbortController | undefined;
  /**
   * Starts and stops run one after the other: a component gaining leadership again waits until
   * its previous run has stopped, so two runs of one component never overlap.
   */
  private transitions: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly log: BasicLogger) {}

  /** Whether this member leads now (as of the last report from Raft). */
  leading(): boolean {
    return this.leadingTerm !== undefined;
  }

  /** Calls `listener` on every change from now on; returns the unsubscribe function. */
  subscribe(listener: (e: LeadershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a leader-only component; it starts at once if this member already leads. */
  register(component: LeaderComponent): void {
    this.components.push(component);
    const [controller, term] = [this.running, this.leadingTerm];
    if (!controller || term === undefined) return;
    this.transitions = this.transitions.then(() => {
      if (!controller.signal.aborted) this.startOne(component, controller.signal, term);
    });
  }

  /** Fed by the Raft node whenever its role, leader or term changes; repeats are ignored. */
  observe(role: RaftRole): void {
    if (this.closed) return;
    if (role.leading && this.leadingTerm === role.term) return;
    if (!role.leading && this.leadingTerm === undefined) return;
    if (this.leadingTerm !== undefined) this.lose(this.leadingTerm);
    if (role.leading) this.gain(role.term);
  }

  /** Stops every component for good (the manager is stopping); resolves once they have stopped. */
  async close(): Promise<void> {
    if (this.leadingTerm !== undefined) this.lose(this.leadingTerm);
    this.closed = true;
    await this.transitions;
  }

  private gain(term: number): void {
    this.leadingTerm = term;
    const controller = new AbortController();
    this.running = controller;
    const components = [...this.components];
    this.transitions = this.transitions.then(() => {
      if (controller.signal.aborted) return; // lost again before the previous run had stopped
      for (const c of components) this.startOne(c, controller.signal, term);
    });
    this.emit({ kind: 'gained', term });
  }

  private lose(term: number): void {
    this.leadingTerm = undefined;
    const controller = this.running;
    this.running = undefined;
    controller?.abort();
    const components = [...this.components];
    this.transitions = this.transitions.then(async () => {
      for (const c of components) {
        try {
          await c.stop();
        } catch (err) {
          this.log.error({ err, component: c.name }, 'leadership: a leader-only component failed to stop');
        }
      }
    });
    this.emit({ kind: 'lost', term });
  }

  private startOne(c: LeaderComponent, signal: AbortSignal, term: number): void {
    try {
      c.start(signal, term);
    } catch (err) {
      // One component failing to start must not keep the others (or Raft) from running.
      this.log.error({ err, component: c.name, term }, 'leadership: a leader-only component failed to start');
    }
  }

  private emit(e: LeadershipEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch (err) {
        this.log.error({ err, event: e.kind }, 'leadership: a subscriber threw');
      }
    }
  }
}
