import type { LayerProgress } from '../../gen/lite/tswarm/v1/engine.js';
import { humanBytes } from './engine-format.js';

/** Redraws at most this often on a terminal: enough to look live, cheap on a slow link. */
const REDRAW_INTERVAL_MS = 100;

function layerLine(p: LayerProgress): string {
  const id = p.digest.replace(/^sha256:/, '').slice(0, 12);
  const bytes =
    p.status === 'downloading' && p.totalBytes > 0 ? ` ${humanBytes(p.currentBytes)}/${humanBytes(p.totalBytes)}` : '';
  return `${id}: ${p.status}${bytes}`;
}

/**
 * `docker pull`'s progress: on a terminal one line per layer, redrawn in place; otherwise a plain
 * line each time a layer changes status (byte counts would flood a log file).
 */
export class PullProgress {
  private readonly layers = new Map<string, LayerProgress>();
  private drawnLines = 0;
  private lastDrawMs = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(p: LayerProgress): void {
    const previous = this.layers.get(p.digest);
    this.layers.set(p.digest, p);
    if (!this.tty) {
      if (previous?.status !== p.status) this.write(`${layerLine(p)}\n`);
      return;
    }
    const now = Date.now();
    if (previous?.status === p.status && now - this.lastDrawMs < REDRAW_INTERVAL_MS) return;
    this.redraw(now);
  }

  /** Draws the final state of every layer (a terminal may have skipped the last updates). */
  finish(): void {
    if (this.tty && this.layers.size > 0) this.redraw(Date.now());
  }

  private redraw(nowMs: number): void {
    this.lastDrawMs = nowMs;
    // Cursor up over what was drawn, then each line cleared and rewritten.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    const lines = [...this.layers.values()].map((l) => `\x1b[2K${layerLine(l)}\n`);
    this.drawnLines = lines.length;
    this.write(up + lines.join(''));
  }
}
