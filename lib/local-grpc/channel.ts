/**
 * A gRPC client for the local daemon's Unix socket, on node:net alone.
 *
 * Why not @grpc/grpc-js, which the daemon serves with: loading it costs a `tswarm` process about
 * 50 ms (its ~65 modules plus node:http2), and node:http2 alone about 26 ms — most of a short
 * command's run (`npm run bench -- engine` times `tswarm container run` end to end).
 * @connectrpc/connect-node speaks gRPC too, but over node:http2, with protobuf-es message
 * classes rather than the ts-proto messages the whole code base uses, and would add two
 * dependencies. The CLI needs little of gRPC: one local connection, no TLS, no load balancing,
 * no retries, no compression — unary, server-streaming and client-streaming calls with
 * deadlines — and little of HTTP/2 (./h2-connection.ts). The daemon stays on grpc-js; the unit
 * tests run this client against it.
 */
import { GrpcStatus } from '../grpc-status.js';
import { Call, GrpcCallError, QUEUE_BYTES_HIGH } from './call.js';
import { encodeFrame, encodeTimeout } from './frames.js';
import { H2Connection } from './h2-connection.js';
import type { HeaderField } from './hpack.js';

export { GrpcCallError, ResponseMetadata } from './call.js';

/** The daemon's own receive limit (daemon/daemon.ts), applied to both directions here. */
export const LOCAL_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

/** A message type as ts-proto generates it (MessageFns): encode to a writer, decode from bytes. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** A method as ts-proto's `outputServices=generic-definitions` describes it. */
export interface MethodDefinition<Req, Res> {
  readonly name: string;
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
}

/** A service as ts-proto's generic definitions describe it: `tswarm.v1.EngineService`. */
export interface ServiceDefinition {
  readonly fullName: string;
}

export interface ChannelOptions {
  /** The largest message either side may send; larger ones fail the call with RESOURCE_EXHAUSTED. */
  messageBytesMax?: number;
  /** How far (decoded bytes) a stream's reader may fall behind before the stream is paused. */
  queueBytesHigh?: number;
}

export class LocalGrpcChannel {
  private current: H2Connection | undefined;
  private readonly messageBytesMax: number;
  private readonly queueBytesHigh: number;

  constructor(
    readonly socketPath: string,
    options: ChannelOptions = {},
  ) {
    this.messageBytesMax = options.messageBytesMax ?? LOCAL_MESSAGE_BYTES_MAX;
    this.queueBytesHigh = options.queueBytesHigh ?? QUEUE_BYTES_HIGH;
  }

  /** One request, one response; fails with a GrpcCallError. */
  async unary<Req, Res>(
    service: ServiceDefinition,
    method: MethodDefinition<Req, Res>,
    request: Req,
    deadlineMs: number,
  ): Promise<Res> {
    const call = this.open(service, method, deadlineMs);
    await call.send(this.frame(method, request, call));
    call.endRequest();
    return this.single(call);
  }

  /**
   * A server stream as an async iterable; the call starts with the iteration. Leaving the loop
   * early (break, throw) cancels it with RST_STREAM CANCEL, so the daemon stops producing.
   */
  async *serverStream<Req, Res>(
    service: ServiceDefinition,
    method: MethodDefinition<Req, Res>,
    request: Req,
    deadlineMs?: number,
  ): AsyncGenerator<Res> {
    const call = this.open(service, method, deadlineMs);
    try {
      await call.send(this.frame(method, request, call));
      call.endRequest();
      for (let message = await call.next(); message !== undefined; message = await call.next()) yield message;
    } finally {
      if (!call.done) call.cancel();
    }
  }

  /**
   * A client stream: sends each of `requests` as it comes, waiting while the socket is busy so
   * memory stays flat; a server that ends the call early stops the sending. An error from
   * `requests` itself cancels the call and is rethrown as it is.
   */
  async clientStream<Req, Res>(
    service: ServiceDefinition,
    method: MethodDefinition<Req, Res>,
    requests: AsyncIterable<Req>,
    deadlineMs?: number,
  ): Promise<Res> {
    const call = this.open(service, method, deadlineMs);
    try {
      for await (const request of requests) {
        await call.send(this.frame(method, request, call));
        if (call.done) break;
      }
    } catch (err) {
      call.cancel();
      throw err;
    }
    call.endRequest();
    return this.single(call);
  }

  /** Closes the connection once the calls in flight have ended (as grpc-js's Client.close). */
  close(): void {
    this.current?.close();
    this.current = undefined;
  }

  private async single<Res>(call: Call<Res>): Promise<Res> {
    const response = await call.next();
    if (response === undefined) throw new GrpcCallError(GrpcStatus.UNIMPLEMENTED, 'No message received');
    if ((await call.next()) !== undefined)
      throw new GrpcCallError(GrpcStatus.UNIMPLEMENTED, 'Too many responses received');
    return response;
  }

  private frame<Req>(method: MethodDefinition<Req, unknown>, request: Req, call: Call<unknown>): Buffer {
    const bytes = method.requestType.encode(request).finish();
    if (bytes.length > this.messageBytesMax) {
      call.cancel();
      throw new GrpcCallError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `Sent message larger than max (${bytes.length} vs. ${this.messageBytesMax})`,
      );
    }
    return encodeFrame(bytes);
  }

  private open<Res>(
    service: ServiceDefinition,
    method: MethodDefinition<unknown, Res>,
    deadlineMs: number | undefined,
  ): Call<Res> {
    const headers: HeaderField[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', `/${service.fullName}/${method.name}`],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-accept-encoding', 'identity'],
      ['user-agent', 'tswarm-cli'],
    ];
    if (deadlineMs !== undefined) headers.push(['grpc-timeout', encodeTimeout(deadlineMs)]);
    const call = new Call((bytes) => method.responseType.decode(bytes), {
      messageBytesMax: this.messageBytesMax,
      queueBytesHigh: this.queueBytesHigh,
      ...(deadlineMs !== undefined ? { deadlineAtMs: Date.now() + deadlineMs } : {}),
    });
    try {
      call.attach(this.connection().request(headers, call));
    } catch (err) {
      call.cancel();
      throw new GrpcCallError(GrpcStatus.UNAVAILABLE, err instanceof Error ? err.message : String(err));
    }
    return call;
  }

  /** The connection, made on first use and again once the old one failed or the daemon closed it (a restart). */
  private connection(): H2Connection {
    if (!this.current?.usable) this.current = new H2Connection(this.socketPath);
    return this.current;
  }
}
