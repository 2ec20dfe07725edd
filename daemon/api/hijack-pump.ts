import type { Readable, Writable } from 'node:stream';
import { muxFrames, type FrameStream, type Sink } from './reply.js';
import { DetachKeyMatcher } from '../../lib/detach-keys.js';

/**
 * Copies a process's output to a hijacked connection as it is written: each chunk as one frame
 * of Docker's multiplexed stream (header and payload in one write, so two streams' frames never
 * interleave), or raw for a TTY. A chunk is read only once the last one is on its way, so a slow
 * client slows the process through its pipe — nothing queues here. Once the client is gone the
 * rest is read and dropped, so the process is never stuck on a full pipe.
 */
export async function pumpOutput(
  source: Readable,
  sink: Sink,
  stream: FrameStream | 'raw',
  onChunk?: (chunk: Buffer) => void,
): Promise<void> {
  let clientGone = false;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    onChunk?.(chunk);
    if (clientGone || chunk.length === 0) continue;
    try {
      await sink.write(stream === 'raw' ? chunk : Buffer.concat(muxFrames(stream, chunk)));
    } catch {
      clientGone = true;
    }
  }
}

/**
 * Copies the client's input (stdin on the hijacked connection) to the process, with the pipe's
 * backpressure; the client's half-close ends the process's stdin, as dockerd closes it.
 * Returns a function that stops the copy (the process ended first).
 */
export function pumpInput(input: Readable, target: Writable, options: { endOnEof: boolean }): () => void {
  const onEnd = () => {
    if (options.endOnEof) target.end();
  };
  input.pipe(target, { end: false });
  input.once('end', onEnd);
  input.resume();
  return () => {
    input.off('end', onEnd);
    input.unpipe(target);
  };
}

/**
 * Copies the client's input to a container's stdin, watching for the detach keys: when they are
 * typed the copy stops and `onDetach` runs (the container keeps running). The input is paused
 * while the target is full, so nothing queues. The client's half-close ends the target.
 */
export function pumpInputWithDetach(input: Readable, target: Writable, keys: Buffer, onDetach: () => void): () => void {
  const matcher = new DetachKeyMatcher(keys);
  const onData = (chunk: Buffer) => {
    const { forward, detached } = matcher.feed(chunk);
    if (forward.length > 0 && !target.write(forward)) {
      input.pause();
      target.once('drain', () => input.resume());
    }
    if (detached) {
      stop();
      onDetach();
    }
  };
  const onEnd = () => target.end();
  const stop = () => {
    input.off('data', onData);
    input.off('end', onEnd);
  };
  input.on('data', onData);
  input.once('end', onEnd);
  input.resume();
  return stop;
}

/** The last bytes of a stream, bounded: enough to read why a command could not start. */
export class Tail {
  private bytes = Buffer.alloc(0);
  constructor(private readonly bytesMax = 4096) {}
  push(chunk: Buffer): void {
    if (chunk.length >= this.bytesMax) {
      this.bytes = Buffer.from(chunk.subarray(chunk.length - this.bytesMax));
      return;
    }
    this.bytes = Buffer.concat([this.bytes, chunk]);
    if (this.bytes.length > this.bytesMax) this.bytes = this.bytes.subarray(this.bytes.length - this.bytesMax);
  }
  toString(): string {
    return this.bytes.toString('utf8');
  }
}
