import type { LayerProgress } from '../../gen/tswarm/v1/engine.js';

/**
 * Sends pull progress to a run's client as it happens, at the client's pace: while a send is
 * under way only the newest report of each layer waits, so a slow client holds at most one per
 * layer. A client gone mid-pull does not stop the pull; the run finds it gone at its next event.
 */
export class LatestPerLayer {
  private readonly waiting = new Map<string, LayerProgress>();
  private pump: Promise<void> | undefined;

  constructor(private readonly send: (p: LayerProgress) => void | Promise<void>) {}

  offer(p: LayerProgress): void {
    this.waiting.set(p.digest, p);
    // Started on the next turn, so pump is set before drain() can clear it (even if send throws at once).
    this.pump ??= Promise.resolve().then(() => this.drain());
  }

  /** Resolves once everything offered has been sent (or the client failed). */
  async flushed(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.take(); next; next = this.take()) await this.send(next);
    } catch {
      this.waiting.clear();
    } finally {
      // No await between the last empty take() and here: an offer cannot fall in between.
      this.pump = undefined;
    }
  }

  private take(): LayerProgress | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    this.waiting.delete(first.value[0]);
    return first.value[1];
  }
}
