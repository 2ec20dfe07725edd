import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DetachKeyMatcher, parseDetachKeys } from './detach-keys.js';
import { pumpInputWithDetach, pumpOutput, Tail } from './hijack-pump.js';
import type { Sink } from './reply.js';

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

/** A sink that records what it was given, and can be made to fail (the client went away). */
function recordingSink(failAfter = Infinity): Sink & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    write: async (c) => {
      if (chunks.length >= failAfter) throw new Error('the client went away');
      chunks.push(Buffer.from(c));
    },
    end: () => undefined,
    closed: new AbortController().signal,
  };
}

describe('pumpOutput', () => {
  it('frames each chunk whole (header and payload in one write), or passes it raw', async () => {
    const sink = recordingSink();
    const src = new PassThrough();
    const done = pumpOutput(src, sink, 'stderr');
    src.end(Buffer.from('oops'));
    await done;
    expect(sink.chunks).toEqual([Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('oops')])]);

    const raw = recordingSink();
    const src2 = new PassThrough();
    const done2 = pumpOutput(src2, raw, 'raw');
    src2.end(Buffer.from('\x1b[Jprompt'));
    await done2;
    expect(Buffer.concat(raw.chunks).toString()).toBe('\x1b[Jprompt');
  });

  it('keeps reading (and dropping) once the client is gone, so the process never blocks', async () => {
    const sink = recordingSink(1);
    const src = new PassThrough();
    const seen: number[] = [];
    const done = pumpOutput(src, sink, 'raw', (c) => seen.push(c.length));
    for (let i = 0; i < 5; i++) src.write(Buffer.alloc(10));
    src.end();
    await done;
    expect(sink.chunks.length).toBe(1);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(50);
  });
});

describe('pumpInputWithDetach', () => {
  it('copies input until the detach keys, then stops and reports the detach', async () => {
    const input = new PassThrough();
    const got: Buffer[] = [];
    const target = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) });
    let detached = false;
    pumpInputWithDetach(input, target, Buffer.from([16, 17]), () => (detached = true));
    input.write('echo hi\r');
    input.write(Buffer.from([16, 17]));
    input.write('after');
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).toString()).toBe('echo hi\r');
    expect(detached).toBe(true);
  });

  it('ends the target when the client half-closes', async () => {
    const input = new PassThrough();
    const target = new PassThrough();
    pumpInputWithDetach(input, target, Buffer.from([16, 17]), () => undefined);
    input.end('last');
    target.resume();
    await new Promise((r) => target.once('end', r));
  });
});

describe('Tail', () => {
  it('keeps the last bytes only', () => {
    const t = new Tail(8);
    t.push(Buffer.from('0123456789'));
    t.push(Buffer.from('ab'));
    expect(t.toString()).toBe('456789ab');
  });
});
