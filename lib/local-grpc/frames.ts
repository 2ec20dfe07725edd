import { GrpcStatus } from '../grpc-status.js';
import { ByteQueue } from './byte-queue.js';

/**
 * gRPC's message framing on an HTTP/2 stream (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"): a
 * flag byte (bit 0: compressed), a 4-byte big-endian length, then the message.
 */
const HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0x01;

/** A framing error: the call ends with `code` (a gRPC status), as grpc-js would end it. */
export class FrameError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One message as it goes on the wire, uncompressed. */
export function encodeFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, HEADER_BYTES);
  return frame;
}

/**
 * Cuts the response byte stream back into messages. Frames split across chunks (and chunks that
 * hold several frames) are normal. The length is checked from the header, before anything is
 * buffered, so an oversize message is refused without holding it.
 */
export class FrameDecoder {
  private readonly input = new ByteQueue();
  /** The length of the message being read, once its header is in; undefined between messages. */
  private messageBytes: number | undefined;

  constructor(private readonly messageBytesMax: number) {}

  /** The complete messages `chunk` finishes; throws FrameError on a message this side refuses. */
  push(chunk: Buffer): Buffer[] {
    this.input.push(chunk);
    const messages: Buffer[] = [];
    for (;;) {
      if (this.messageBytes === undefined) {
        if (this.input.length < HEADER_BYTES) break;
        const header = this.input.take(HEADER_BYTES);
        const length = header.readUInt32BE(1);
        // This client never offers an encoding (grpc-accept-encoding: identity), so a compressed
        // message is a broken server.
        if ((header[0]! & COMPRESSED_FLAG) !== 0)
          throw new FrameError(GrpcStatus.INTERNAL, 'received a compressed message, but no encoding was agreed');
        if (length > this.messageBytesMax)
          throw new FrameError(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `Received message larger than max (${length} vs. ${this.messageBytesMax})`,
          );
        this.messageBytes = length;
      }
      if (this.input.length < this.messageBytes) break;
      messages.push(this.input.take(this.messageBytes));
      this.messageBytes = undefined;
    }
    return messages;
  }

  /** True while part of a message (or of its header) is buffered: the stream must not end here. */
  get midMessage(): boolean {
    return this.input.length > 0 || this.messageBytes !== undefined;
  }
}

/** Units grpc-timeout allows, largest last; a value has at most 8 digits (PROTOCOL-HTTP2.md). */
const TIMEOUT_UNITS: readonly [string, number][] = [
  ['m', 1],
  ['S', 1000],
  ['M', 60_000],
  ['H', 3_600_000],
];
const TIMEOUT_DIGITS_MAX = 99_999_999;

/** A relative deadline as the grpc-timeout header: `1500` → `1500m`; rounded up, never to 0. */
export function encodeTimeout(timeoutMs: number): string {
  const ms = Math.max(1, Math.ceil(timeoutMs));
  for (const [unit, unitMs] of TIMEOUT_UNITS) {
    const value = Math.ceil(ms / unitMs);
    if (value <= TIMEOUT_DIGITS_MAX) return `${value}${unit}`;
  }
  return `${TIMEOUT_DIGITS_MAX}H`;
}
