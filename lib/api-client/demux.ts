import { TswarmError } from '../errors.js';

export interface Frame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** A frame of any stream, the daemon's own messages (3, system error) included. */
export interface AnyFrame {
  stream: 'stdout' | 'stderr' | 'systemerr';
  data: Buffer;
}

const HEADER_BYTES = 8;
/** tswarmd writes frames of at most 1 MiB; a larger length is a broken stream, not a big frame. */
const FRAME_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Splits Docker's multiplexed stream (logs, attach and exec without a TTY) into its frames: an
 * 8-byte header — 1 stdout or 2 stderr, three zero bytes, the length big-endian — then the
 * payload. Stream 0 (stdin echo) is written to stdout and 3 (a daemon error) is thrown, as the
 * docker CLI's stdcopy does.
 */
export async function* demux(source: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  for await (const frame of demuxAll(source)) {
    if (frame.stream === 'systemerr') throw new TswarmError('INTERNAL', frame.data.toString('utf8').trim());
    yield { stream: frame.stream, data: frame.data };
  }
}

/** demux, with the daemon's system-error frames yielded for the caller to read (service logs' warnings). */
export async function* demuxAll(source: AsyncIterable<Buffer>): AsyncGenerator<AnyFrame> {
  let buf: Buffer = Buffer.alloc(0);
  // Chunks of a frame still incomplete: joined once it is whole, not copied again at each chunk.
  const waiting: Buffer[] = [];
  let waitingBytes = 0;
  for await (const chunk of source) {
    waiting.push(chunk);
    waitingBytes += chunk.length;
    const need = buf.length >= HEADER_BYTES ? HEADER_BYTES + buf.readUInt32BE(4) : HEADER_BYTES;
    if (buf.length + waitingBytes < need) continue;
    buf = Buffer.concat([buf, ...waiting.splice(0)]);
    waitingBytes = 0;
    while (buf.length >= HEADER_BYTES) {
      const kind = buf[0]!;
      const length = buf.readUInt32BE(4);
      if (kind > 3 || length > FRAME_BYTES_MAX)
        throw new TswarmError('INTERNAL', `tswarmd's output stream is malformed (frame type ${kind}, ${length} bytes)`);
      if (buf.length < HEADER_BYTES + length) break;
      const data = buf.subarray(HEADER_BYTES, HEADER_BYTES + length);
      buf = buf.subarray(HEADER_BYTES + length);
      yield { stream: kind === 3 ? 'systemerr' : kind === 2 ? 'stderr' : 'stdout', data };
    }
  }
  if (buf.length + waitingBytes > 0)
    throw new TswarmError('INTERNAL', 'tswarmd ended the output stream in the middle of a frame');
}
