import { describe, expect, it } from 'vitest';
import { demux } from './demux.js';
import { readJsonLines } from './json-lines.js';

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

function frame(kind: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("the client's readers of Docker's streams", () => {
  it('demuxes frames split anywhere across chunks, binary payloads intact, stdout and stderr apart', async () => {
    const bytes = Buffer.concat([frame(1, Buffer.from([0xff, 0x00, 0x0a])), frame(2, Buffer.from('err\n'))]);
    // Every split point, including inside a header and inside a payload.
    for (let at = 0; at <= bytes.length; at++) {
      const frames = await all(demux(chunks(bytes.subarray(0, at), bytes.subarray(at))));
      expect(frames.map((f) => [f.stream, f.data.toString('hex')])).toEqual([
        ['stdout', 'ff000a'],
        ['stderr', Buffer.from('err\n').toString('hex')],
      ]);
    }
  });

  it('throws a daemon error frame (3) and a stream cut mid-frame, naming what went wrong', async () => {
    await expect(all(demux(chunks(frame(3, Buffer.from('engine failed\n')))))).rejects.toThrow('engine failed');
    await expect(all(demux(chunks(frame(1, Buffer.from('abc')).subarray(0, 9))))).rejects.toThrow(
      /in the middle of a frame/,
    );
  });

  it('reads JSON lines with a character split across chunks whole', async () => {
    const line = Buffer.from('{"status":"Pulling é layer"}\n{"status":"done"}');
    const at = line.indexOf(0xc3) + 1; // inside the two bytes of "é"
    const lines = await all(readJsonLines<{ status: string }>(chunks(line.subarray(0, at), line.subarray(at))));
    expect(lines.map((l) => l.status)).toEqual(['Pulling é layer', 'done']);
  });
});
