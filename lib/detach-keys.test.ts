import { describe, expect, it } from 'vitest';
import { DetachKeyMatcher, parseDetachKeys } from './detach-keys.js';

describe('parseDetachKeys', () => {
  it('reads Docker’s forms', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('a,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([97, 0, 27, 28, 29, 30, 31]);
    expect([...parseDetachKeys('CTRL-X')]).toEqual([24]);
  });

  it('refuses what is not a key, naming it', () => {
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/"ctrl-1" is not a key/);
    expect(() => parseDetachKeys('ab')).toThrow(/"ab" is not a key/);
    expect(() => parseDetachKeys('ctrl-p,,ctrl-q')).toThrow(/is not a key/);
  });
});

describe('DetachKeyMatcher', () => {
  const keys = Buffer.from([16, 17]);

  it('passes other input on as it comes', () => {
    const m = new DetachKeyMatcher(keys);
    expect(m.feed(Buffer.from('ls\r'))).toEqual({ forward: Buffer.from('ls\r'), detached: false });
  });

  it('detaches on the sequence, also split across reads, and drops it', () => {
    const m = new DetachKeyMatcher(keys);
    expect(m.feed(Buffer.from([0x61, 16]))).toEqual({ forward: Buffer.from('a'), detached: false });
    expect(m.feed(Buffer.from([17, 0x62]))).toEqual({ forward: Buffer.alloc(0), detached: true });
  });

  it('gives back held bytes when the sequence breaks, and restarts on its first key', () => {
    const m = new DetachKeyMatcher(keys);
    expect(m.feed(Buffer.from([16, 0x61]))).toEqual({ forward: Buffer.from([16, 0x61]), detached: false });
    expect(m.feed(Buffer.from([16, 16, 17])).detached).toBe(true);
    const again = new DetachKeyMatcher(keys);
    expect(again.feed(Buffer.from([16, 16]))).toEqual({ forward: Buffer.from([16]), detached: false });
  });

  it('a one-key sequence detaches at once; no keys never detach', () => {
    expect(new DetachKeyMatcher(Buffer.from([3])).feed(Buffer.from([0x61, 3]))).toEqual({
      forward: Buffer.from('a'),
      detached: true,
    });
    expect(new DetachKeyMatcher(Buffer.alloc(0)).feed(Buffer.from([16, 17])).detached).toBe(false);
  });
});
