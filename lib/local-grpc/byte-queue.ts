/**
 * Bytes as they arrive from a socket, in the chunks they came in, taken off the front in pieces
 * of any size. Each byte is copied at most once, so a large message arriving in many small
 * chunks costs linear time (concatenating on every chunk would be quadratic).
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The first `n` bytes (n ≤ length) without taking them. */
  peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return this.copyOut(n, false);
  }

  /** Takes the first `n` bytes (n ≤ length); a view when one chunk holds them all. */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first && first.length >= n) {
      this.bytes -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.copyOut(n, true);
  }

  private copyOut(n: number, consume: boolean): Buffer {
    if (n > this.bytes) throw new RangeError(`${n} bytes asked, ${this.bytes} buffered`);
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const chunk = this.chunks[i]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (!consume) i++;
      else if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    if (consume) this.bytes -= n;
    return out;
  }
}
