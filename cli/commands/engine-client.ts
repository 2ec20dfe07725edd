import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { EngineServiceClient, EngineServiceService, type ImageLoadResponse } from '../../gen/tswarm/v1/engine.js';
import { callUnary, unixSocketPath } from '../../lib/grpc.js';
import { fromServiceError, TswarmError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { localCallError, unreachable } from '../../lib/daemon-client.js';

/** A local call that takes longer than this means the daemon is stuck, not busy. */
export const LOCAL_CALL_DEADLINE_MS = 10_000;
/** Calls that may pull an image (create) or wait out a stop grace period and a kill. */
export const SLOW_CALL_DEADLINE_MS = 30 * 60_000;
/** `wait` waits as long as the container runs, as `docker wait` does; this only keeps the number finite. */
export const WAIT_FOREVER_MS = 365 * 24 * 3600_000;
/** Archive chunk size for `image load`: well under the daemon's message limit. */
const LOAD_CHUNK_BYTES = 1024 * 1024;

type Unary<Req, Res> = (req: Req, md: Metadata, opts: object, cb: (e: ServiceError | null, r: Res) => void) => unknown;
type Definition = typeof EngineServiceService;
/** The unary methods of EngineService, by name, with their request and response types. */
export type UnaryName = { [K in keyof Definition]: Definition[K]['requestStream'] extends false ? (Definition[K]['responseStream'] extends false ? K : never) : never }[keyof Definition];
type RequestOf<K extends UnaryName> = Parameters<Definition[K]['requestSerialize']>[0];
type ResponseOf<K extends UnaryName> = ReturnType<Definition[K]['responseDeserialize']>;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** The CLI's EngineService connection on the local socket; failures read as DaemonClient's do. */
export class EngineClient {
  readonly raw: EngineServiceClient;

  constructor(readonly host: string) {
    const path = unixSocketPath(host);
    if (!existsSync(path)) throw unreachable(host);
    this.raw = new EngineServiceClient(`unix://${path}`, credentials.createInsecure());
  }

  private mapError(err: unknown): unknown {
    const e = isServiceError(err) ? fromServiceError(err) : err;
    if (e instanceof TswarmError && /client went away/.test(e.message)) return e;
    return localCallError(this.host, e);
  }

  async call<K extends UnaryName>(name: K, request: RequestOf<K>, deadlineMs = LOCAL_CALL_DEADLINE_MS): Promise<ResponseOf<K>> {
    const def = EngineServiceService[name];
    const method: Unary<RequestOf<K>, ResponseOf<K>> = (req, md, opts, cb) =>
      this.raw.makeUnaryRequest(def.path, def.requestSerialize as (v: RequestOf<K>) => Buffer, def.responseDeserialize as (b: Buffer) => ResponseOf<K>, req, md, opts, cb as (e: ServiceError | null, r?: ResponseOf<K>) => void);
    try {
      return await callUnary(method, new Metadata(), request, deadlineMs);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** A server stream as an async iterable; leaving the loop early cancels the call. */
  async *stream<Res>(open: (client: EngineServiceClient) => ClientReadableStream<Res>): AsyncGenerator<Res> {
    const call = open(this.raw);
    try {
      for await (const message of call as AsyncIterable<Res>) yield message;
    } catch (err) {
      throw this.mapError(err);
    } finally {
      call.cancel();
    }
  }

  /** Streams an archive to ImageLoad in 1 MiB chunks, waiting for 'drain' so memory stays flat. */
  async load(source: AsyncIterable<Buffer>): Promise<ImageLoadResponse> {
    let settle: { resolve: (r: ImageLoadResponse) => void; reject: (e: unknown) => void } | undefined;
    const result = new Promise<ImageLoadResponse>((resolve, reject) => (settle = { resolve, reject }));
    const call = this.raw.imageLoad((err, res) => (err ? settle!.reject(this.mapError(err)) : settle!.resolve(res)));
    const failed = result.then(() => false, () => true);
    try {
      for await (const data of source) {
        for (let at = 0; at < data.length; at += LOAD_CHUNK_BYTES) {
          if (!call.write({ chunk: data.subarray(at, at + LOAD_CHUNK_BYTES) })) {
            const drained = new Promise<boolean>((resolve) => call.once('drain', () => resolve(false)));
            if (await Promise.race([drained, failed])) return await result;
          }
        }
      }
      call.end();
    } catch (err) {
      call.cancel();
      throw err;
    }
    return result;
  }

  close(): void {
    this.raw.close();
  }
}

/** Runs `fn` with an engine client for the context's host, closed afterwards. */
export async function withEngine<T>(ctx: CliContext, fn: (engine: EngineClient) => Promise<T>): Promise<T> {
  const engine = new EngineClient(ctx.host);
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}
