import { TswarmError } from './errors.js';

/** Docker's default: Ctrl-P then Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Docker's `--detach-keys` form: keys separated by commas, each one character or `ctrl-X` (X a
 * letter or one of @ [ \ ] ^ _), e.g. "ctrl-p,ctrl-q" → [0x10, 0x11].
 */
export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim().toLowerCase();
    if (k.length === 1) {
      bytes.push(key.trim().charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(k);
    const c = m?.[1];
    if (c !== undefined && c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
    else if (c !== undefined && c in CTRL_SPECIAL) bytes.push(CTRL_SPECIAL[c]!);
    else
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `invalid detach keys "${spec}": "${key}" is not a key. Give keys separated by commas, each a character or ctrl-<a-z, @, [, \\, ], ^, _>, e.g. ctrl-p,ctrl-q`,
      );
  }
  return Buffer.from(bytes);
}

/**
 * Watches a client's input for the detach sequence, as dockerd does on attach: bytes that may
 * start the sequence are held back until it completes (then they are swallowed and the client
 * detaches) or breaks (then they are passed on). At most the sequence's length is held.
 */
export class DetachKeyMatcher {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to pass on, and whether the sequence was typed (bytes after it are dropped). */
  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detached: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte !== this.keys[this.matched]) {
        // A broken sequence: what was held goes on, and this byte may start a new one.
        for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
        this.matched = 0;
        if (byte !== this.keys[0]) {
          out.push(byte);
          continue;
        }
      }
      this.matched++;
      if (this.matched === this.keys.length) return { forward: Buffer.from(out), detached: true };
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
