import { afterEach, describe, expect, it, vi } from 'vitest';
import { SeededRandom } from '../../../lib/random.js';
import type { StreamSnapshotRequest } from '../../../gen/tswarm/v1/raft.js';
import { newMessage } from '../core/messages.js';
import { crc32c } from '../storage/wal/crc32c.js';
import { SnapshotAssembler, snapshotChunks } from './snapshot-chunks.js';

const GIB = 1024 * 1024 * 1024;

function chunksOf(bytes: number, chunkBytesMax = 1024): StreamSnapshotRequest[] {
  const data = new SeededRandom(7).bytes(bytes);
  const m = newMessage({
    type: 'MsgSnap',
    from: 'a',
    to: 'b',
    term: 2,
    snapshot: { metadata: { index: 9, term: 2, confState: { voters: ['a', 'b'], learners: [] } }, data },
  });
  return [...snapshotChunks(m, chunkBytesMax)];
}

describe('SnapshotAssembler', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reassembles a snapshot sent in chunks', () => {
    const chunks = chunksOf(5000);
    const a = new SnapshotAssembler(GIB);
    const results = chunks.map((c) => a.accept(c));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    expect(Buffer.from(results.at(-1)!.snapshot!.data)).toEqual(Buffer.concat(chunks.slice(1).map((c) => c.data)));
    expect(a.isComplete()).toBe(true);
  });

  it('holds only what arrived when the header announces 1 GiB, allocating nothing of that size', () => {
    const [header, first] = chunksOf(1000);
    const allocs: number[] = [];
    for (const fn of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
      const original = Buffer[fn].bind(Buffer);
      vi.spyOn(Buffer, fn).mockImplementation(((size: number, ...rest: never[]) => {
        allocs.push(size);
        return (original as (size: number, ...rest: never[]) => Buffer)(size, ...rest);
      }) as never);
    }
    const a = new SnapshotAssembler(GIB);
    const lying = { ...header!, totalBytes: GIB - 1, crc32c: 0 };
    expect(a.accept(lying)).toBeUndefined();
    expect(a.accept({ ...first!, last: false })).toBeUndefined();
    expect(a.bufferedBytes()).toBe(1000);
    expect(allocs.filter((n) => n > 1024 * 1024)).toEqual([]);
  });

  it('refuses a header over the cap, data beyond the announced size, and a last chunk short of it', () => {
    const chunks = chunksOf(3000);
    expect(() => new SnapshotAssembler(2999).accept(chunks[0]!)).toThrow(/exceeds the limit of 2999/);

    const understated = new SnapshotAssembler(GIB);
    understated.accept({ ...chunks[0]!, totalBytes: 1500 });
    understated.accept(chunks[1]!);
    expect(() => understated.accept(chunks[2]!)).toThrow(/more data than announced/);

    const overstated = new SnapshotAssembler(GIB);
    overstated.accept({ ...chunks[0]!, totalBytes: 4000 });
    for (const c of chunks.slice(1, -1)) overstated.accept(c);
    expect(() => overstated.accept(chunks.at(-1)!)).toThrow(/received 3000 of 4000 bytes/);
  });

  it('refuses a whole-snapshot checksum that does not match the chunks', () => {
    const chunks = chunksOf(2048);
    const a = new SnapshotAssembler(GIB);
    a.accept({ ...chunks[0]!, crc32c: crc32c(Buffer.from('something else')) });
    a.accept(chunks[1]!);
    expect(() => a.accept(chunks[2]!)).toThrow(/checksum mismatch over the whole snapshot/);
  });
});
