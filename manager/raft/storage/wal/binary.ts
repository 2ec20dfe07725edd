/**
 * Little-endian cursors over a Buffer, for the WAL's and snapshot files' hand-rolled formats.
 * u64 fields hold Raft indexes and terms: plain numbers, safe up to 2^53 (see types.ts).
 */
import { assert } from '../../../../lib/assert.js';

const TWO_POW_32 = 0x1_0000_0000;
/** The high word of the largest safe integer (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

/** Thrown by Reader on malformed input; callers turn it into a typed error naming file and offset. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export class Writer {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  u8(v: number): void {
    this.pos = this.buf.writeUInt8(v, this.pos);
  }

  u16(v: number): void {
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u32(v: number): void {
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  u64(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, 'u64 fields hold non-negative safe integers');
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / TWO_POW_32), this.pos + 4);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError(`need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    if (hi > SAFE_HIGH_WORD_MAX) throw new DecodeError(`u64 at ${this.pos} exceeds 2^53`);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  /** A copy, so decoded values never pin the whole file buffer in memory. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  utf8(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  expectEnd(): void {
    if (this.pos !== this.end) throw new DecodeError(`${this.end - this.pos} trailing bytes`);
  }
}
