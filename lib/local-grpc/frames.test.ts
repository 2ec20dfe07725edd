import { describe, expect, it } from 'vitest';
import { GrpcStatus } from '../grpc-status.js';
import { encodeFrame, encodeTimeout, FrameDecoder, FrameError } from './frames.js';

const bytes = (...values: number[]) => Buffer.from(values);

describe('FrameDecoder', () => {
  it('cuts messages out of chunks however the stream splits them', () => {
    const wire = Buffer.concat([encodeFrame(bytes(1, 2, 3)), encodeFrame(bytes()), encodeFrame(Buffer.alloc(300, 9))]);
    for (const size of [1, 2, 4, 5, 7, 64, wire.length]) {
      const decoder = new FrameDecoder(1024);
      const messages: Buffer[] = [];
      for (let at = 0; at < wire.length; at += size) messages.push(...decoder.push(wire.subarray(at, at + size)));
      expect(
        messages.map((m) => m.length),
        `chunks of ${size}`,
      ).toEqual([3, 0, 300]);
      expect([...messages[0]!]).toEqual([1, 2, 3]);
      expect(messages[2]!.every((b) => b === 9)).toBe(true);
      expect(decoder.midMessage).toBe(false);
    }
  });

  it('knows when the stream stopped inside a message', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(encodeFrame(bytes(1, 2, 3)).subarray(0, 6))).toEqual([]);
    expect(decoder.midMessage).toBe(true);
  });

  it('refuses an oversize message from its header, before buffering it', () => {
    const decoder = new FrameDecoder(16);
    const header = encodeFrame(Buffer.alloc(17)).subarray(0, 5);
    expect(() => decoder.push(header)).toThrow(FrameError);
    try {
      new FrameDecoder(16).push(header);
    } catch (err) {
      expect((err as FrameError).code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect((err as FrameError).message).toBe('Received message larger than max (17 vs. 16)');
    }
  });

  it('refuses a compressed message: no encoding was offered', () => {
    const frame = encodeFrame(bytes(1));
    frame[0] = 1;
    expect(() => new FrameDecoder(16).push(frame)).toThrow(/compressed/);
  });
});

describe('encodeTimeout', () => {
  it('uses the finest unit that fits in 8 digits, rounding up', () => {
    expect(encodeTimeout(1500)).toBe('1500m');
    expect(encodeTimeout(0.2)).toBe('1m');
    expect(encodeTimeout(0)).toBe('1m');
    expect(encodeTimeout(99_999_999)).toBe('99999999m');
    expect(encodeTimeout(100_000_000)).toBe('100000S');
    // `container wait`'s year-long deadline.
    expect(encodeTimeout(365 * 24 * 3600_000)).toBe('31536000S');
  });
});
