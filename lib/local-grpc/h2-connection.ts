import { connect as netConnect, type Socket } from 'node:net';
import { ByteQueue } from './byte-queue.js';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderField } from './hpack.js';

/**
 * An HTTP/2 client connection (RFC 9113) over a Unix socket, cut down to what gRPC calls to the
 * local daemon need: requests on client streams, flow control both ways, SETTINGS, PING,
 * RST_STREAM and GOAWAY. No TLS, no server push, no priorities, no upgrade.
 *
 * Why not node:http2: loading it costs a process about 26 ms (it loads tls and crypto too), a
 * quarter of a short `tswarm` command's run; node:net costs about 1 ms. The daemon's side is
 * Node's own http2 (through grpc-js), which the unit tests run this against.
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;

const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const SETTING = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

/** HTTP/2 error codes (RFC 9113 §7). */
export const H2_ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

/** Both sides start from these until SETTINGS say otherwise (RFC 9113 §6.5.2). */
const DEFAULT_WINDOW_BYTES = 65_535;
const DEFAULT_FRAME_BYTES = 16_384;
/** GOAWAY codes that say this side broke the protocol, rather than that the daemon is going away. */
const PEER_BLAMES_US: ReadonlySet<number> = new Set([
  H2_ERROR.PROTOCOL_ERROR,
  H2_ERROR.FLOW_CONTROL_ERROR,
  H2_ERROR.FRAME_SIZE_ERROR,
  H2_ERROR.COMPRESSION_ERROR,
]);
/** No flow-control window may exceed 2^31-1 (RFC 9113 §6.9.1). */
const WINDOW_BYTES_MAX = 2 ** 31 - 1;
/** The largest frame this side accepts: the default, which it never raises. */
const FRAME_BYTES_MAX = DEFAULT_FRAME_BYTES;
/** How much a stream may send before this side reads on: flow control pauses a slow reader's stream here. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
/** The whole connection's receive window: room for several streams' windows. */
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** A response's header block (HEADERS plus CONTINUATIONs) may not exceed this; gRPC's are small. */
const HEADER_BLOCK_BYTES_MAX = 64 * 1024;
/** Stream IDs are 31-bit and odd for the client; past this the connection is used up. */
const STREAM_ID_MAX = 2 ** 31 - 1;

export type Headers = Record<string, string | string[]>;

/** How a stream ended. */
export type StreamEnd =
  /** The server sent END_STREAM: the response is complete. */
  | { kind: 'ended' }
  /** The server reset the stream (RST_STREAM) with this error code. */
  | { kind: 'reset'; code: number }
  /** This side reset it (Stream.reset). */
  | { kind: 'cancelled' }
  /** The connection failed (connect error, dropped, GOAWAY before the stream ran), or broke the protocol. */
  | { kind: 'connection'; error: Error; protocolError: boolean };

/** What a stream tells its owner, in order: headers (then trailers), data, and one end. */
export interface StreamHandler {
  headers(headers: Headers, endStream: boolean): void;
  data(chunk: Buffer): void;
  end(how: StreamEnd): void;
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return header;
}

function uint32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

function toHeaders(fields: readonly HeaderField[]): Headers {
  const headers: Headers = {};
  for (const [name, value] of fields) {
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

interface Outgoing {
  data: Buffer;
  sent: () => void;
}

/** One request/response exchange: this side's data goes out as flow control allows. */
export class H2Stream {
  /** What this side may still send on the stream. */
  sendWindow: number;
  /** What the server may still send before this side grants more. */
  private receiveWindow = STREAM_WINDOW_BYTES;
  /** Received bytes not yet granted back (held while paused). */
  private ungranted = 0;
  private paused = false;
  readonly outgoing: Outgoing[] = [];
  endQueued = false;
  localEnded = false;
  closed = false;

  constructor(
    readonly id: number,
    private readonly connection: H2Connection,
    readonly handler: StreamHandler,
    initialSendWindow: number,
  ) {
    this.sendWindow = initialSendWindow;
  }

  /** Queues data; resolves once it is all handed to the socket (or the stream closed meanwhile). */
  write(data: Buffer): Promise<void> {
    if (this.closed || this.endQueued) return Promise.resolve();
    return new Promise((sent) => {
      this.outgoing.push({ data, sent });
      this.connection.flush();
    });
  }

  /** Half-closes: END_STREAM after the data already queued. */
  end(): void {
    if (this.closed || this.endQueued) return;
    this.endQueued = true;
    this.connection.flush();
  }

  /** Resets the stream (RST_STREAM, CANCEL unless told), so the server stops working on it. */
  reset(code: number = H2_ERROR.CANCEL): void {
    this.connection.resetStream(this, code, { kind: 'cancelled' });
  }

  /** Stops granting the server more window: once the window is spent, the server waits. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.grant(0);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Counts received DATA against the window; false when the server overran it. */
  received(bytes: number): boolean {
    this.receiveWindow -= bytes;
    if (this.receiveWindow < 0) return false;
    this.grant(bytes);
    return true;
  }

  /** Grants the window back in batches (half a window), not one WINDOW_UPDATE per frame. */
  private grant(bytes: number): void {
    this.ungranted += bytes;
    if (this.paused || this.closed || this.ungranted < STREAM_WINDOW_BYTES / 2) return;
    this.connection.windowUpdate(this.id, this.ungranted);
    this.receiveWindow += this.ungranted;
    this.ungranted = 0;
  }
}

interface PendingHeaders {
  streamId: number;
  endStream: boolean;
  fragments: Buffer[];
  bytes: number;
}

export class H2Connection {
  private readonly socket: Socket;
  private readonly input = new ByteQueue();
  private readonly streams = new Map<number, H2Stream>();
  private readonly hpack = new HpackDecoder();
  private nextStreamId = 1;
  private peerFrameBytesMax = DEFAULT_FRAME_BYTES;
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private ungrantedConnectionBytes = 0;
  private pendingHeaders: PendingHeaders | undefined;
  /** The server sent GOAWAY: streams it has not taken are refused, and no new ones open. */
  private goneAway = false;
  /** close() was called: the connection ends once its streams have. */
  private closing = false;
  private failure: Error | undefined;

  constructor(socketPath: string) {
    this.socket = netConnect(socketPath);
    // Idle connections do not hold the process open; a stream refs it while it runs.
    this.socket.unref();
    this.socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    this.socket.on('error', (err) => this.fail(err, false));
    this.socket.on('close', () => this.fail(new Error('Connection dropped'), false));
    // Sent at once, before the connection is even up (the socket buffers it): a client need not
    // wait for the server's SETTINGS before its first request (RFC 9113 §3.4).
    const settings = Buffer.alloc(18);
    [
      [SETTING.ENABLE_PUSH, 0],
      [SETTING.INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES],
      [SETTING.MAX_HEADER_LIST_SIZE, HEADER_BLOCK_BYTES_MAX],
    ].forEach(([id, value], i) => {
      settings.writeUInt16BE(id!, 6 * i);
      settings.writeUInt32BE(value!, 6 * i + 2);
    });
    this.socket.write(Buffer.concat([PREFACE, frameHeader(settings.length, FRAME.SETTINGS, 0, 0), settings]));
    this.windowUpdate(0, CONNECTION_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
  }

  /** False once the connection failed, is closing, or the server is going away: open a new one. */
  get usable(): boolean {
    return !this.failure && !this.closing && !this.goneAway && this.nextStreamId <= STREAM_ID_MAX;
  }

  /** Opens a stream with a request's headers; throws when the connection is not usable. */
  request(fields: readonly HeaderField[], handler: StreamHandler): H2Stream {
    if (!this.usable) throw this.failure ?? new Error('the connection to the daemon is closing');
    const block = encodeHeaders(fields);
    if (block.length > this.peerFrameBytesMax)
      throw new Error(`request headers of ${block.length} bytes do not fit one frame`);
    const stream = new H2Stream(this.nextStreamId, this, handler, this.peerInitialWindow);
    this.nextStreamId += 2;
    this.streams.set(stream.id, stream);
    if (this.streams.size === 1) this.socket.ref();
    this.writeFrame(FRAME.HEADERS, FLAG.END_HEADERS, stream.id, block);
    return stream;
  }

  /** Ends the connection once its streams have ended (GOAWAY, then FIN). */
  close(): void {
    this.closing = true;
    if (this.streams.size === 0) this.goodbye();
  }

  /** Sends what the windows allow, stream by stream; called whenever data is queued or a window opens. */
  flush(): void {
    for (const stream of this.streams.values()) {
      while (stream.outgoing.length > 0) {
        const head = stream.outgoing[0]!;
        const bytes = Math.min(head.data.length, stream.sendWindow, this.sendWindow, this.peerFrameBytesMax);
        // Zero-length data (an empty message) still goes out as a frame; flow control does not count it.
        if (bytes <= 0 && head.data.length > 0) break;
        this.writeFrame(FRAME.DATA, 0, stream.id, head.data.subarray(0, bytes));
        stream.sendWindow -= bytes;
        this.sendWindow -= bytes;
        if (bytes === head.data.length) {
          stream.outgoing.shift();
          head.sent();
        } else head.data = head.data.subarray(bytes);
      }
      if (stream.outgoing.length === 0 && stream.endQueued && !stream.localEnded) {
        stream.localEnded = true;
        this.writeFrame(FRAME.DATA, FLAG.END_STREAM, stream.id, Buffer.alloc(0));
      }
    }
  }

  windowUpdate(streamId: number, bytes: number): void {
    if (bytes > 0) this.writeFrame(FRAME.WINDOW_UPDATE, 0, streamId, uint32s(bytes));
  }

  /** Closes a stream from this side with RST_STREAM, telling its handler how it ended. */
  resetStream(stream: H2Stream, code: number, how: StreamEnd): void {
    if (stream.closed) return;
    this.writeFrame(FRAME.RST_STREAM, 0, stream.id, uint32s(code));
    this.closeStream(stream, how);
  }

  private closeStream(stream: H2Stream, how: StreamEnd): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    for (const pending of stream.outgoing.splice(0)) pending.sent();
    if (this.streams.size === 0) {
      this.socket.unref();
      if (this.closing || this.goneAway) this.goodbye();
    }
    stream.handler.end(how);
  }

  private goodbye(): void {
    if (this.failure || this.socket.destroyed) return;
    this.writeFrame(FRAME.GOAWAY, 0, 0, uint32s(0, H2_ERROR.NO_ERROR));
    this.socket.end();
  }

  private writeFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.failure || this.socket.destroyed) return;
    // Corked, so a frame's header and payload (and the frames written in the same tick) leave
    // in one writev rather than a write each.
    if (this.socket.writableCorked === 0) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    this.socket.write(frameHeader(payload.length, type, flags, streamId));
    if (payload.length > 0) this.socket.write(payload);
  }

  /** Ends every stream with the connection's failure; the first failure is the one reported. */
  private fail(error: Error, protocolError: boolean): void {
    if (this.failure) return;
    this.failure = error;
    for (const stream of [...this.streams.values()])
      this.closeStream(stream, { kind: 'connection', error, protocolError });
    this.socket.destroy();
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then the socket is closed. */
  private protocolError(code: number, message: string): void {
    this.writeFrame(FRAME.GOAWAY, 0, 0, uint32s(0, code));
    // Written out before the close: fail() destroys the socket, which would drop the GOAWAY.
    this.socket.uncork();
    this.socket.end();
    this.fail(new Error(`HTTP/2 protocol error from the daemon: ${message}`), true);
  }

  private onBytes(chunk: Buffer): void {
    this.input.push(chunk);
    while (!this.failure && this.input.length >= FRAME_HEADER_BYTES) {
      const header = this.input.peek(FRAME_HEADER_BYTES);
      const length = header.readUIntBE(0, 3);
      if (length > FRAME_BYTES_MAX) return this.protocolError(H2_ERROR.FRAME_SIZE_ERROR, `a frame of ${length} bytes`);
      if (this.input.length < FRAME_HEADER_BYTES + length) return;
      const type = header[3]!;
      const flags = header[4]!;
      const streamId = header.readUInt32BE(5) & 0x7fffffff;
      this.input.take(FRAME_HEADER_BYTES);
      this.onFrame(type, flags, streamId, this.input.take(length));
    }
  }

  /** The payload without its padding (PADDED frames), or undefined when the padding is malformed. */
  private unpad(flags: number, payload: Buffer, skip = 0): Buffer | undefined {
    if ((flags & FLAG.PADDED) === 0) return payload.subarray(skip);
    const padBytes = payload[0];
    if (padBytes === undefined || 1 + skip + padBytes > payload.length) return undefined;
    return payload.subarray(1 + skip, payload.length - padBytes);
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.pendingHeaders && (type !== FRAME.CONTINUATION || streamId !== this.pendingHeaders.streamId)) {
      return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a header block interrupted');
    }
    switch (type) {
      case FRAME.DATA:
        return this.onData(flags, streamId, payload);
      case FRAME.HEADERS: {
        const fragment = this.unpad(flags, payload, (flags & FLAG.PRIORITY) !== 0 ? 5 : 0);
        if (!fragment || streamId === 0)
          return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a malformed HEADERS frame');
        this.pendingHeaders = { streamId, endStream: (flags & FLAG.END_STREAM) !== 0, fragments: [], bytes: 0 };
        return this.onHeaderFragment(flags, fragment);
      }
      case FRAME.CONTINUATION:
        if (!this.pendingHeaders) return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a CONTINUATION without HEADERS');
        return this.onHeaderFragment(flags, payload);
      case FRAME.RST_STREAM: {
        const stream = this.streams.get(streamId);
        if (stream && payload.length === 4) this.closeStream(stream, { kind: 'reset', code: payload.readUInt32BE(0) });
        return;
      }
      case FRAME.SETTINGS:
        return this.onSettings(flags, payload);
      case FRAME.PING:
        if ((flags & FLAG.ACK) === 0 && payload.length === 8) this.writeFrame(FRAME.PING, FLAG.ACK, 0, payload);
        return;
      case FRAME.GOAWAY:
        return this.onGoaway(payload);
      case FRAME.WINDOW_UPDATE: {
        if (payload.length !== 4) return this.protocolError(H2_ERROR.FRAME_SIZE_ERROR, 'a malformed WINDOW_UPDATE');
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (increment === 0) return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0');
        if (streamId === 0) {
          if (this.sendWindow + increment > WINDOW_BYTES_MAX)
            return this.protocolError(H2_ERROR.FLOW_CONTROL_ERROR, 'a connection window over 2^31-1');
          this.sendWindow += increment;
        } else {
          const stream = this.streams.get(streamId);
          if (stream && stream.sendWindow + increment > WINDOW_BYTES_MAX)
            return this.protocolError(H2_ERROR.FLOW_CONTROL_ERROR, 'a stream window over 2^31-1');
          if (stream) stream.sendWindow += increment;
        }
        return this.flush();
      }
      case FRAME.PUSH_PROMISE:
        // Refused in this side's SETTINGS (ENABLE_PUSH 0).
        return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a PUSH_PROMISE');
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
        return;
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    // The whole frame, padding included, counts against both windows (RFC 9113 §6.9).
    this.ungrantedConnectionBytes += payload.length;
    if (this.ungrantedConnectionBytes >= CONNECTION_WINDOW_BYTES / 2) {
      this.windowUpdate(0, this.ungrantedConnectionBytes);
      this.ungrantedConnectionBytes = 0;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return; // a stream this side already reset: its last frames are dropped
    const data = this.unpad(flags, payload);
    if (!data) return this.protocolError(H2_ERROR.PROTOCOL_ERROR, 'a malformed DATA frame');
    if (!stream.received(payload.length))
      return this.resetStream(stream, H2_ERROR.FLOW_CONTROL_ERROR, {
        kind: 'reset',
        code: H2_ERROR.FLOW_CONTROL_ERROR,
      });
    if (data.length > 0) stream.handler.data(data);
    if ((flags & FLAG.END_STREAM) !== 0) this.onRemoteEnd(stream);
  }

  private onHeaderFragment(flags: number, fragment: Buffer): void {
    const pending = this.pendingHeaders!;
    pending.fragments.push(fragment);
    pending.bytes += fragment.length;
    if (pending.bytes > HEADER_BLOCK_BYTES_MAX)
      return this.protocolError(H2_ERROR.ENHANCE_YOUR_CALM, `a header block over ${HEADER_BLOCK_BYTES_MAX} bytes`);
    if ((flags & FLAG.END_HEADERS) === 0) return;
    this.pendingHeaders = undefined;
    let fields: HeaderField[];
    try {
      // Decoded even for a stream already gone: the decoder's table must follow every block.
      fields = this.hpack.decode(Buffer.concat(pending.fragments));
    } catch (err) {
      return this.protocolError(H2_ERROR.COMPRESSION_ERROR, err instanceof HpackError ? err.message : String(err));
    }
    const stream = this.streams.get(pending.streamId);
    if (!stream) return;
    stream.handler.headers(toHeaders(fields), pending.endStream);
    if (pending.endStream) this.onRemoteEnd(stream);
  }

  /**
   * The server finished its side: the response is complete. If this side is still sending (a
   * server that answered a client stream early), the stream is reset so the server discards the rest.
   */
  private onRemoteEnd(stream: H2Stream): void {
    if (stream.closed) return;
    if (!stream.localEnded) this.resetStream(stream, H2_ERROR.CANCEL, { kind: 'ended' });
    else this.closeStream(stream, { kind: 'ended' });
  }

  private onSettings(flags: number, payload: Buffer): void {
    if ((flags & FLAG.ACK) !== 0) return;
    if (payload.length % 6 !== 0) return this.protocolError(H2_ERROR.FRAME_SIZE_ERROR, 'a malformed SETTINGS frame');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > WINDOW_BYTES_MAX)
          return this.protocolError(H2_ERROR.FLOW_CONTROL_ERROR, `an initial window of ${value}`);
        // Applies to open streams too, by the difference (RFC 9113 §6.9.2); a window may go negative.
        for (const stream of this.streams.values()) stream.sendWindow += value - this.peerInitialWindow;
        this.peerInitialWindow = value;
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        // RFC 9113 §6.5.2: 2^14 to 2^24-1. Less would stall every send (nothing fits a frame).
        if (value < 16_384 || value > 16_777_215)
          return this.protocolError(H2_ERROR.PROTOCOL_ERROR, `a MAX_FRAME_SIZE of ${value}`);
        this.peerFrameBytesMax = value;
      }
      // HEADER_TABLE_SIZE: this side never indexes, so the server's table size does not matter.
    }
    this.writeFrame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0));
    this.flush();
  }

  private onGoaway(payload: Buffer): void {
    if (payload.length < 8) return this.protocolError(H2_ERROR.FRAME_SIZE_ERROR, 'a malformed GOAWAY');
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goneAway = true;
    if (PEER_BLAMES_US.has(code)) {
      // Not a shutdown: the daemon found this side at fault, and every stream is over.
      return this.fail(
        new Error(`the daemon closed the connection with HTTP/2 error ${code} (this client broke the protocol)`),
        true,
      );
    }
    // Streams the server never took may be retried elsewhere; here they fail as unreachable.
    const refused = new Error(
      `the daemon is shutting down (GOAWAY${code === H2_ERROR.NO_ERROR ? '' : `, HTTP/2 error ${code}`})`,
    );
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId)
        this.closeStream(stream, { kind: 'connection', error: refused, protocolError: false });
    }
    if (this.streams.size === 0) this.goodbye();
  }
}
