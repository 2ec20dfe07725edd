import { TswarmError } from '../../lib/errors.js';
import { humanBytes } from './engine-format.js';

/** Redraws at most this often on a terminal: enough to look live, cheap on a slow link. */
const REDRAW_INTERVAL_MS = 100;

/** One line of Docker's JSON progress stream (a pull's; a load's `stream` lines too). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function layerLine(id: string, m: ProgressMessage): string {
  const { current = 0, total = 0 } = m.progressDetail ?? {};
  const bytes = total > 0 ? ` ${humanBytes(current)}/${humanBytes(total)}` : '';
  return `${id}: ${m.status ?? ''}${bytes}`;
}

/**
 * `docker pull`'s progress, from the daemon's JSON stream: on a terminal one line per layer,
 * redrawn in place; otherwise a plain line each time a layer changes status (byte counts would
 * flood a log file). Lines without a layer (`Digest: …`, `Status: …`) are printed as they come.
 */
export class PullProgress {
  private readonly layers = new Map<string, ProgressMessage>();
  private drawnLines = 0;
  private lastDrawMs = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(m: ProgressMessage): void {
    const error = m.errorDetail?.message ?? m.error;
    // A failure after the stream began (a layer's digest did not match) comes as a line.
    if (error) throw new TswarmError('INTERNAL', error);
    const id = m.id;
    // "Pulling from REPO" names the tag, not a layer; a line with neither is the pull's summary.
    if (!id || m.status?.startsWith('Pulling from ')) {
      if (m.status && !m.status.startsWith('Pulling from ')) {
        this.finish();
        this.write(`${m.status}\n`);
      }
      return;
    }
    const previous = this.layers.get(id);
    this.layers.set(id, m);
    if (!this.tty) {
      if (previous?.status !== m.status) this.write(`${layerLine(id, m)}\n`);
      return;
    }
    const now = Date.now();
    if (previous?.status === m.status && now - this.lastDrawMs < REDRAW_INTERVAL_MS) return;
    this.redraw(now);
  }

  /** Draws the final state of every layer (a terminal may have skipped the last updates). */
  finish(): void {
    if (this.tty && this.layers.size > 0) this.redraw(Date.now());
    this.layers.clear();
    this.drawnLines = 0;
  }

  private redraw(nowMs: number): void {
    this.lastDrawMs = nowMs;
    // Cursor up over what was drawn, then each line cleared and rewritten.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    const lines = [...this.layers].map(([id, m]) => `\x1b[2K${layerLine(id, m)}\n`);
    this.drawnLines = lines.length;
    this.write(up + lines.join(''));
  }
}
