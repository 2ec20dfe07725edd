/**
 * A snapshot on the wire: the first StreamSnapshot request carries the MsgSnap message (its
 * metadata), the total size and the CRC32C of the whole data; then data chunks of at most
 * SNAPSHOT_CHUNK_BYTES_MAX, each with its offset and its own CRC32C, the last one marked. The
 * receiver checks offsets, sizes and both checksums before the core ever sees the snapshot.
 */
import { TswarmError } from '../../../lib/errors.js';
import { MessageType as WireMessageType, type StreamSnapshotRequest } from '../../../gen/tswarm/v1/raft.js';
import type { Message } from '../core/messages.js';
import { crc32c } from '../storage/wal/crc32c.js';
import { messageFromWire, messageToWire } from './codec.js';

/** 1 MiB: well under gRPC's 4 MiB default message limit, large enough that framing costs nothing. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 1024 * 1024;

/** The requests that carry `m` (a MsgSnap with its data), in order. */
export function* snapshotChunks(
  m: Message,
  chunkBytesMax = SNAPSHOT_CHUNK_BYTES_MAX,
): Generator<StreamSnapshotRequest> {
  const data = m.snapshot?.data ?? new Uint8Array();
  const empty = Buffer.alloc(0);
  yield {
    message: messageToWire(m),
    offset: 0,
    data: empty,
    last: data.length === 0,
    totalBytes: data.length,
    crc32c: crc32c(data),
  };
  for (let offset = 0; offset < data.length; offset += chunkBytesMax) {
    const chunk = data.subarray(offset, Math.min(data.length, offset + chunkBytesMax));
    const last = offset + chunk.length === data.length;
    yield {
      message: undefined,
      offset,
      data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      last,
      totalBytes: 0,
      crc32c: crc32c(chunk),
    };
  }
}

const corrupt = (what: string) =>
  new TswarmError('INVALID_ARGUMENT', `raft snapshot stream: ${what}; the sender will retry`);

/**
 * Reassembles one snapshot from its chunks, refusing anything out of order, oversized or corrupt.
 * The announced size is a claim from the network, not a reservation: memory is held only for
 * chunks that arrived (each at most SNAPSHOT_CHUNK_BYTES_MAX, and never beyond the announced
 * size or `snapshotBytesMax`), so a sender that announces 1 GiB and sends nothing costs nothing.
 */
export class SnapshotAssembler {
  private header: StreamSnapshotRequest | undefined;
  private readonly chunks: Buffer[] = [];
  private receivedBytes = 0;
  /** CRC32C of the chunks so far, so the whole-snapshot check needs no second pass. */
  private crcSoFar = 0;
  private done = false;

  constructor(private readonly snapshotBytesMax: number) {}

  /** Takes the next chunk; returns the complete MsgSnap (with its data) after the last one. */
  accept(req: StreamSnapshotRequest): Message | undefined {
    if (this.done) throw corrupt('chunk after the last one');
    if (this.header === undefined) return this.acceptHeader(req);
    if (req.message !== undefined) throw corrupt('a second header');
    if (req.offset !== this.receivedBytes)
      throw corrupt(`chunk at offset ${req.offset}, expected ${this.receivedBytes}`);
    if (req.data.length > SNAPSHOT_CHUNK_BYTES_MAX)
      throw corrupt(`chunk of ${req.data.length} bytes exceeds ${SNAPSHOT_CHUNK_BYTES_MAX}`);
    if (this.receivedBytes + req.data.length > this.header.totalBytes) throw corrupt('more data than announced');
    if (crc32c(req.data) !== req.crc32c) throw corrupt(`checksum mismatch in the chunk at offset ${req.offset}`);
    this.chunks.push(req.data);
    this.crcSoFar = crc32c(req.data, 0, req.data.length, this.crcSoFar);
    this.receivedBytes += req.data.length;
    return req.last ? this.finish() : undefined;
  }

  private acceptHeader(req: StreamSnapshotRequest): Message | undefined {
    if (
      req.message === undefined ||
      req.message.type !== WireMessageType.MESSAGE_TYPE_SNAP ||
      req.message.snapshot === undefined
    ) {
      throw corrupt('the first chunk must carry a MsgSnap with its metadata');
    }
    if (req.totalBytes > this.snapshotBytesMax)
      throw corrupt(`snapshot of ${req.totalBytes} bytes exceeds the limit of ${this.snapshotBytesMax}`);
    this.header = req;
    return req.last ? this.finish() : undefined;
  }

  private finish(): Message {
    const header = this.header!;
    if (this.receivedBytes !== header.totalBytes)
      throw corrupt(`received ${this.receivedBytes} of ${header.totalBytes} bytes`);
    if (this.crcSoFar !== header.crc32c) throw corrupt('checksum mismatch over the whole snapshot');
    this.done = true;
    const data = Buffer.concat(this.chunks, this.receivedBytes);
    this.chunks.length = 0;
    return messageFromWire(header.message!, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Bytes held so far: what the chunks that arrived hold, whatever the header announced. */
  bufferedBytes(): number {
    return this.receivedBytes;
  }

  /** Whether the stream ended with the snapshot complete. */
  isComplete(): boolean {
    return this.done;
  }
}
