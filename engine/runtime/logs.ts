import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { currentLink, previousGeneration } from './log-keeper.js';

/** One line of a container's output, as the LogLine message carries it. */
export interface LogRecord {
  timestampMs: number;
  stream: 'stdout' | 'stderr';
  /** The bytes written, with the trailing newline of a full line. */
  data: Buffer;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/** "2026-11-22T22:27:23.806411882+00:00" → ms; Date.parse wants at most milliseconds. */
export function parseTimestampMs(text: string): number {
  return Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
}

/**
 * Parses conmon's k8s-file format, `TIMESTAMP STREAM TAG CONTENT\n`, where TAG F ends a line and
 * P is a piece of one: conmon writes output that does not (yet) end in a newline, and lines
 * longer than its buffer, as P pieces. Feed it bytes in any chunking.
 *
 * Joined (the default), pieces wait for the F that ends their line, so a record is one whole line
 * (what `--tail` counts); flush() hands over a line the container never ended, as `printf hi`
 * leaves it. Streaming, each piece is a record as soon as it is read, without a newline, so a
 * follower sees a prompt or a progress bar when it is written, as `docker run` shows it.
 */
export class K8sLogParser {
  private rest: Buffer = Buffer.alloc(0);
  private readonly partial = new Map<'stdout' | 'stderr', { timestampMs: number; pieces: Buffer[] }>();

  constructor(private readonly mode: 'joined' | 'streaming' = 'joined') {}

  push(chunk: Buffer): LogRecord[] {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: LogRecord[] = [];
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      const record = this.line(buf.subarray(start, nl));
      if (record) out.push(record);
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  /** Lines whose end never came (the output stopped without a newline), one per stream, as written. */
  flush(): LogRecord[] {
    const out: LogRecord[] = [];
    for (const [stream, held] of this.partial)
      out.push({ timestampMs: held.timestampMs, stream, data: Buffer.concat(held.pieces) });
    this.partial.clear();
    return out.sort((a, b) => a.timestampMs - b.timestampMs);
  }

  private line(line: Buffer): LogRecord | undefined {
    const s1 = line.indexOf(SPACE);
    const s2 = s1 === -1 ? -1 : line.indexOf(SPACE, s1 + 1);
    const s3 = s2 === -1 ? -1 : line.indexOf(SPACE, s2 + 1);
    if (s3 === -1 && s2 === -1) return undefined;
    const timestampMs = parseTimestampMs(line.subarray(0, s1).toString());
    const stream = line.subarray(s1 + 1, s2).toString();
    if (stream !== 'stdout' && stream !== 'stderr') return undefined;
    const tag = line.subarray(s2 + 1, s3 === -1 ? line.length : s3).toString();
    const content = Buffer.from(s3 === -1 ? Buffer.alloc(0) : line.subarray(s3 + 1));
    if (this.mode === 'streaming') {
      return { timestampMs, stream, data: tag === 'P' ? content : Buffer.concat([content, Buffer.from('\n')]) };
    }
    const held = this.partial.get(stream) ?? { timestampMs, pieces: [] };
    held.pieces.push(content);
    if (tag === 'P') {
      this.partial.set(stream, held);
      return undefined;
    }
    this.partial.delete(stream);
    return { timestampMs, stream, data: Buffer.concat([...held.pieces, Buffer.from('\n')]) };
  }
}

export interface TailOptions {
  /** Lines from the end; negative or undefined for all. */
  tail?: number;
  sinceMs?: number;
}

function select(records: LogRecord[], options: TailOptions): LogRecord[] {
  const since = options.sinceMs ?? 0;
  const kept = since > 0 ? records.filter((r) => r.timestampMs >= since) : records;
  return options.tail !== undefined && options.tail >= 0 ? kept.slice(Math.max(0, kept.length - options.tail)) : kept;
}

/**
 * The log so far: the generations kept from conmon's rotations (log-keeper.ts), then the live file.
 */
export async function readLog(path: string, options: TailOptions): Promise<{ records: LogRecord[] }> {
  const live = await openIfPresent(path);
  try {
    const earlier = await earlierGenerations(path, live?.ino);
    const bytes = live ? await live.handle.readFile() : undefined;
    return { records: parseGenerations(earlier, bytes, options) };
  } finally {
    await live?.handle.close();
  }
}

/**
 * The generations before the live file (inode `liveIno`), oldest first: ctr.log.1, and
 * ctr.log.cur when conmon has replaced the live file and the keeper has not yet moved it to .1.
 * Each file is told by its inode, so one the keeper renames meanwhile is never read twice, and
 * the live file never as an earlier generation.
 */
async function earlierGenerations(path: string, liveIno: number | undefined): Promise<Buffer[]> {
  const opened = await Promise.all([openIfPresent(previousGeneration(path)), openIfPresent(currentLink(path))]);
  try {
    const seen = new Set<number>(liveIno === undefined ? [] : [liveIno]);
    const out: Buffer[] = [];
    for (const file of opened) {
      if (!file || seen.has(file.ino)) continue;
      seen.add(file.ino);
      out.push(await file.handle.readFile());
    }
    return out;
  } finally {
    await Promise.all(opened.map((f) => f?.handle.close() ?? Promise.resolve()));
  }
}

/** The earlier generations' lines, then the live file's, as one log (a line may span two files). */
function parseGenerations(earlier: readonly Buffer[], live: Buffer | undefined, options: TailOptions): LogRecord[] {
  const parser = new K8sLogParser();
  const records: LogRecord[] = [];
  for (const bytes of [...earlier, ...(live ? [live] : [])]) records.push(...parser.push(bytes));
  // A line still unended is shown as far as it goes; a follow goes on from the end of the file.
  records.push(...parser.flush());
  return select(records, options);
}

export interface FollowOptions extends TailOptions {
  /** True once the container has exited: the follow reads what is left and ends. */
  isDone: () => Promise<boolean>;
  /** Subscribes to the container's exit (returning the unsubscribe), so the follow ends without waiting out a poll. */
  onExit?: (wake: () => void) => () => void;
  /** The fallback poll behind inotify (a rotated file, a watch that could not be set). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * A sleep that a file change or the container's exit cuts short. A wake that comes while nobody
 * sleeps is kept, so a change between a read and the next sleep is never missed.
 */
class Wakeup {
  private pending = false;
  private wakeSleeper: (() => void) | undefined;

  wake(): void {
    if (this.wakeSleeper) this.wakeSleeper();
    else this.pending = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }
}

/** Watches the log's directory, not the file: a watch on the file would stay on the inode conmon replaces at its cap. */
function watchFile(path: string, wakeup: Wakeup): FSWatcher | undefined {
  const name = basename(path);
  try {
    const watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === name) wakeup.wake();
    });
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}

/** Bytes read per poll, so a burst of output cannot grow one read without bound. */
const FOLLOW_CHUNK_BYTES = 1024 * 1024;

async function readAt(handle: FileHandle, offset: number): Promise<Buffer> {
  const buf = Buffer.alloc(FOLLOW_CHUNK_BYTES);
  const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
  return buf.subarray(0, bytesRead);
}

interface OpenLog {
  handle: FileHandle;
  ino: number;
}

async function openIfPresent(path: string): Promise<OpenLog | undefined> {
  try {
    const handle = await open(path, 'r');
    return { handle, ino: (await handle.stat()).ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The log's existing lines (tail/since applied), then new lines as conmon writes them, until the
 * container exits. A log replaced by conmon's size cap (new inode or shorter file) is read from
 * its start.
 */
export async function* followLog(path: string, options: FollowOptions): AsyncGenerator<LogRecord> {
  const pollMs = options.pollMs ?? 100;
  // The live file is opened before anything is read: lines written to it and then replaced by
  // conmon's rotation while the first lines go out are still read through this handle.
  const current = await openIfPresent(path);
  const wakeup = new Wakeup();
  const watcher = watchFile(path, wakeup);
  const unsubscribe = options.onExit?.(() => wakeup.wake());
  const onAbort = () => wakeup.wake();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const earlier = await earlierGenerations(path, current?.ino);
    const live = current ? await current.handle.readFile() : undefined;
    yield* parseGenerations(earlier, live, options);
    yield* followFrom(path, options, { current, offset: live?.length ?? 0, wakeup, pollMs });
  } finally {
    watcher?.close();
    unsubscribe?.();
    options.signal?.removeEventListener('abort', onAbort);
    await current?.handle.close().catch(() => undefined);
  }
}

/**
 * Reads on from `start.offset` through an open handle, so the lines conmon writes just before it
 * replaces the file at its cap are still read from the old inode before the follow moves on to
 * the new file.
 */
async function* followFrom(
  path: string,
  options: FollowOptions,
  start: { current: OpenLog | undefined; offset: number; wakeup: Wakeup; pollMs: number },
): AsyncGenerator<LogRecord> {
  let current = start.current;
  let offset = start.offset;
  let parser = new K8sLogParser('streaming');
  try {
    for (;;) {
      if (options.signal?.aborted) return;
      const done = await options.isDone();
      let progressed = false;
      if (current) {
        const bytes = await readAt(current.handle, offset);
        offset += bytes.length;
        progressed = bytes.length > 0;
        for (const r of parser.push(bytes)) if (!options.sinceMs || r.timestampMs >= options.sinceMs) yield r;
      }
      if (progressed) continue;
      // The file read to its end: go on to a new one if conmon replaced it meanwhile — after one
      // more read of the old one, since conmon may have written its last lines there between our
      // read and its rename (it closes the old file before making the new one).
      const live = await stat(path).catch(() => undefined);
      if (live && live.ino !== current?.ino) {
        if (current) {
          const last = await readAt(current.handle, offset);
          if (last.length > 0) {
            offset += last.length;
            for (const r of parser.push(last)) if (!options.sinceMs || r.timestampMs >= options.sinceMs) yield r;
            continue;
          }
        }
        if (current !== start.current) await current?.handle.close();
        current = await openIfPresent(path);
        offset = 0;
        parser = new K8sLogParser('streaming');
        continue;
      }
      if (done) return;
      await start.wakeup.sleep(start.pollMs);
    }
  } finally {
    // The first handle is followLog's to close.
    if (current !== start.current) await current?.handle.close();
  }
}
