import type { ContainerRecord } from './record.js';

/**
 * Who waits for a running container's exit to be recorded (log followers), so they end without
 * polling.
 */
export class ExitListeners {
  private readonly listeners = new Map<string, Set<() => void>>();

  /** Calls `listener` once the container's exit is recorded (at once if it is not running); returns the unsubscribe. */
  subscribe(record: ContainerRecord, listener: () => void): () => void {
    if (record.state.status !== 'running') {
      queueMicrotask(listener);
      return () => undefined;
    }
    let listeners = this.listeners.get(record.id);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(record.id, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(record.id) === listeners) this.listeners.delete(record.id);
    };
  }

  notify(id: string): void {
    const listeners = this.listeners.get(id);
    this.listeners.delete(id);
    for (const listener of listeners ?? []) listener();
  }
}
