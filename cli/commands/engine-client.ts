import { existsSync } from 'node:fs';
import {
  EngineServiceDefinition,
  type ImageLoadRequest,
  type ImageLoadResponse,
} from '../../gen/lite/tswarm/v1/engine.js';
import { unixSocketPath } from '../../lib/daemon-host.js';
import { asTswarmError, TswarmError } from '../../lib/errors.js';
import { errorLine } from '../errors.js';
import type { CliContext } from '../context.js';
import { fromLocalCall, localCallError, unreachable } from '../../lib/local-call-errors.js';
import { LocalGrpcChannel, type MethodDefinition } from '../../lib/local-grpc/channel.js';

/** A local call that takes longer than this means the daemon is stuck, not busy. */
export const LOCAL_CALL_DEADLINE_MS = 10_000;
/** Calls that may pull an image (create) or wait out a stop grace period and a kill. */
export const SLOW_CALL_DEADLINE_MS = 30 * 60_000;
/** `wait` waits as long as the container runs, as `docker wait` does; this only keeps the number finite. */
export const WAIT_FOREVER_MS = 365 * 24 * 3600_000;
/** Archive chunk size for `image load`: well under the daemon's message limit. */
const LOAD_CHUNK_BYTES = 1024 * 1024;

type Methods = (typeof EngineServiceDefinition)['methods'];
/** The unary methods of EngineService, by name, with their request and response types. */
export type UnaryName = {
  [K in keyof Methods]: Methods[K]['requestStream'] extends false
    ? Methods[K]['responseStream'] extends false
      ? K
      : never
    : never;
}[keyof Methods];
/** The server-streaming methods of EngineService (pull, run, logs). */
export type StreamName = {
  [K in keyof Methods]: Methods[K]['requestStream'] extends false
    ? Methods[K]['responseStream'] extends true
      ? K
      : never
    : never;
}[keyof Methods];
type RequestOf<K extends keyof Methods> = Parameters<Methods[K]['requestType']['encode']>[0];
type ResponseOf<K extends keyof Methods> = ReturnType<Methods[K]['responseType']['decode']>;

/** The method's generated description; TypeScript cannot narrow the indexed union by K itself. */
function methodOf<K extends keyof Methods>(name: K): MethodDefinition<RequestOf<K>, ResponseOf<K>> {
  return EngineServiceDefinition.methods[name] as unknown as MethodDefinition<RequestOf<K>, ResponseOf<K>>;
}

/** The CLI's EngineService connection on the local socket; failures read as DaemonClient's do. */
export class EngineClient {
  private readonly channel: LocalGrpcChannel;

  constructor(readonly host: string) {
    const path = unixSocketPath(host);
    if (!existsSync(path)) throw unreachable(host);
    this.channel = new LocalGrpcChannel(path);
  }

  private mapError(err: unknown): unknown {
    const e = fromLocalCall(err);
    if (e instanceof TswarmError && /client went away/.test(e.message)) return e;
    return localCallError(this.host, e);
  }

  async call<K extends UnaryName>(
    name: K,
    request: RequestOf<K>,
    deadlineMs = LOCAL_CALL_DEADLINE_MS,
  ): Promise<ResponseOf<K>> {
    try {
      return await this.channel.unary(EngineServiceDefinition, methodOf(name), request, deadlineMs);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** A server stream as an async iterable; leaving the loop early cancels the call. */
  async *stream<K extends StreamName>(name: K, request: RequestOf<K>): AsyncGenerator<ResponseOf<K>> {
    try {
      yield* this.channel.serverStream(EngineServiceDefinition, methodOf(name), request);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /**
   * Streams an archive to ImageLoad in 1 MiB chunks; the channel waits for the socket to drain,
   * so memory stays flat. A daemon that refuses the load stops the sending with its error.
   */
  async load(source: AsyncIterable<Buffer>): Promise<ImageLoadResponse> {
    async function* chunks(): AsyncGenerator<ImageLoadRequest> {
      for await (const data of source) {
        for (let at = 0; at < data.length; at += LOAD_CHUNK_BYTES)
          yield { chunk: data.subarray(at, at + LOAD_CHUNK_BYTES) };
      }
    }
    try {
      return await this.channel.clientStream(
        EngineServiceDefinition,
        EngineServiceDefinition.methods.imageLoad,
        chunks(),
      );
    } catch (err) {
      throw this.mapError(err);
    }
  }

  close(): void {
    this.channel.close();
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

/**
 * Docker's inspect of several names: what was found is shown, each name that failed is an error
 * line on stderr, and the command fails with the last failure's code.
 */
export async function inspectEach<T>(
  c: CliContext,
  refs: readonly string[],
  fetch: (engine: EngineClient, ref: string) => Promise<T>,
  show: (found: T[]) => void,
): Promise<void> {
  const settled = await withEngine(c, (e) => Promise.allSettled(refs.map((ref) => fetch(e, ref))));
  const found = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.flatMap((r) => (r.status === 'rejected' ? [asTswarmError(r.reason)] : []));
  // As docker inspect: the found ones, `[]` when none was.
  show(found);
  // Each failure but the last here; the last is thrown, reported like any command's error.
  for (const err of failed.slice(0, -1)) process.stderr.write(errorLine(err.message));
  const last = failed.at(-1);
  if (last) throw last;
}
