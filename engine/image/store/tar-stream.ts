import { Parser, type ReadEntry } from 'tar';

export type { ReadEntry } from 'tar';

/** Warnings that do not make an archive unusable: an empty layer is a valid (if odd) tar. */
const HARMLESS_WARNINGS = new Set(['TAR_BAD_ARCHIVE']);

/**
 * Feeds `source` (a tar, or a gzip/zstd-compressed tar: npm tar sniffs it) through npm tar's
 * parser and calls `onEntry` for each entry, one at a time and in order, each awaited before the
 * next: the parser only moves on once an entry is consumed, and its write() backpressure pauses
 * the source meanwhile, so memory stays bounded whatever the archive's size. `onEntry` may leave
 * the body unread; it is then skipped. Any handler error or corrupt archive stops the walk.
 */
export async function forEachTarEntry(
  source: AsyncIterable<Uint8Array>,
  onEntry: (entry: ReadEntry) => Promise<void>,
): Promise<void> {
  const parser = new Parser({ strict: false, brotli: false });
  let failure: Error | undefined;
  let rejectFailed!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  const fail = (err: unknown) => {
    if (failure !== undefined) return;
    failure = err instanceof Error ? err : new Error(`tar stream failed: ${JSON.stringify(err)}`);
    rejectFailed(failure);
  };
  let chain = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure === undefined) await onEntry(entry).catch(fail);
      entry.resume();
    });
  });
  parser.on('warn', (code: string, message: string | Error) => {
    if (!HARMLESS_WARNINGS.has(code))
      fail(new Error(`corrupt archive (${code}): ${message instanceof Error ? message.message : message}`));
  });
  parser.on('error', fail);
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  try {
    for await (const chunk of source) {
      if (failure !== undefined) break;
      if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) {
        await Promise.race([new Promise((resolve) => parser.once('drain', resolve)), failed]);
      }
    }
    if (failure === undefined) {
      parser.end();
      await Promise.race([ended, failed]);
      await chain;
    }
  } catch (err) {
    fail(err);
  }
  if (failure !== undefined) {
    parser.abort(failure);
    throw failure;
  }
}
