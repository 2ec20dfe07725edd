import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pumpInputWithDetach, pumpOutput, Tail } from './hijack-pump.js';
import type { Sink } from './reply.js';

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
