/**
 * The bounded window of MsgApp messages sent to one follower and not yet acknowledged. When the
 * window is full the leader stops sending to that follower: flow control, so a slow follower
 * cannot make the leader buffer unbounded data in the transport.
 */
import { assert } from '../../../lib/assert.js';

interface Inflight {
  /** Last entry index carried by the message. */
  index: number;
  bytes: number;
}

export class Inflights {
  // A plain array used as a FIFO: the window is small (maxCount), so shift() costs little.
  private readonly queue: Inflight[] = [];
  private totalBytes = 0;

  /**
   * @param maxCount messages in flight at most (> 0)
   * @param maxBytes payload bytes in flight at most; 0 means no byte limit
   */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    assert(maxCount > 0, 'inflights: maxCount must be positive');
  }

  add(index: number, bytes: number): void {
    assert(!this.full(), 'inflights: add() called on a full window');
    const last = this.queue[this.queue.length - 1];
    assert(last === undefined || index > last.index, 'inflights: indexes added in increasing order');
    this.queue.push({ index, bytes });
    this.totalBytes += bytes;
  }

  /** Frees every message whose last index is <= index: the follower acknowledged them. */
  freeLE(index: number): void {
    while (this.queue.length > 0 && this.queue[0]!.index <= index) {
      this.totalBytes -= this.queue.shift()!.bytes;
    }
  }

  freeFirstOne(): void {
    const first = this.queue.shift();
    if (first) this.totalBytes -= first.bytes;
  }

  full(): boolean {
    return this.queue.length >= this.maxCount || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  count(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue.length = 0;
    this.totalBytes = 0;
  }
}
