/**
 * The KV client: finds the leader (following not-leader answers, else trying members in turn)
 * and retries until a command succeeds, within bounds. A session is one client ID with a
 * sequence number per command; a retry reuses the number, so the state machine applies each
 * command at most once however often it is retried. Sessions share the members' connections.
 */
import {
  makeGenericClientConstructor,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { TswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../../../manager/raft/core/types.js';
import { PutCoalescer } from './coalescer.js';
import { callFailure, KvAttemptError, PutStream, RETRYABLE_CODES } from './put-stream.js';
import {
  KvServiceDefinition,
  LEADER_METADATA_KEY,
  type GetRequest,
  type GetResponse,
  type PutBatchRequest,
  type PutBatchResponse,
  type PutRequest,
  type PutResponse,
  type PutStreamRequest,
  type PutStreamResponse,
} from './service.js';

export interface KvClientOptions {
  /** Member ID → address of its KV service. */
  endpoints: ReadonlyMap<NodeId, string>;
  credentials: ChannelCredentials;
  requestTimeoutMs?: number;
  /** Attempts per command at most (following a leader hint counts as one). */
  attemptsMax?: number;
  /** Pause before retrying when no leader is known, doubled per attempt up to backoffMsMax. */
  backoffMsMin?: number;
  backoffMsMax?: number;
  /** Send the puts of concurrent sessions together (PutCoalescer); off by default. */
  coalesce?: boolean;
  /** Sessions' puts go as messages on one PutStream per member (default), or as unary calls. */
  streamPuts?: boolean;
}

type Unary<Req, Res> = (
  req: Req,
  options: { deadline: number },
  cb: (err: ServiceError | null, res: Res) => void,
) => void;
interface KvStub extends Client {
  put: Unary<PutRequest, PutResponse>;
  putBatch: Unary<PutBatchRequest, PutBatchResponse>;
  get: Unary<GetRequest, GetResponse>;
  putStream: () => ClientDuplexStream<PutStreamRequest, PutStreamResponse>;
}

type KvMethod = 'put' | 'putBatch' | 'get';

const KvStubConstructor = makeGenericClientConstructor(KvServiceDefinition, 'tswarm.raftkv.Kv') as unknown as new (
  addr: string,
  creds: ChannelCredentials,
  options: Record<string, number>,
) => KvStub;

/** A failed attempt as the error it stands for, and the leader it named if any. */
function attemptFailure(err: unknown): KvAttemptError {
  if (err instanceof KvAttemptError) return err;
  const se = err as ServiceError;
  if (typeof se?.code !== 'number') throw err;
  const hint = se.metadata?.get(LEADER_METADATA_KEY)[0];
  return new KvAttemptError(callFailure(se), typeof hint === 'string' ? hint : undefined);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KvClient {
  private readonly stubs = new Map<NodeId, KvStub>();
  private readonly putStreams = new Map<NodeId, PutStream>();
  private readonly ids: NodeId[];
  private leaderGuess: NodeId | undefined;
  private next = 0;
  private readonly requestTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  /** Set when coalescing puts. */
  readonly coalescer: PutCoalescer | undefined;
  readonly streamPuts: boolean;

  constructor(options: KvClientOptions) {
    for (const [id, addr] of options.endpoints)
      this.stubs.set(id, new KvStubConstructor(addr, options.credentials, { 'grpc.enable_channelz': 0 }));
    this.ids = [...options.endpoints.keys()];
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    // With the 100 ms backoff cap, about 15 s of trying: several elections even with slow ticks.
    this.attemptsMax = options.attemptsMax ?? 150;
    this.backoffMsMin = options.backoffMsMin ?? 20;
    // Low: while a new leader is elected (~1.3 s with default ticks), a long sleep here would come on top of it.
    this.backoffMsMax = options.backoffMsMax ?? 100;
    this.coalescer = options.coalesce ? new PutCoalescer(this, this.attemptsMax) : undefined;
    this.streamPuts = options.streamPuts ?? true;
  }

  /** The member that answered this client's last successful call as leader, if any. */
  knownLeader(): NodeId | undefined {
    return this.leaderGuess;
  }

  /** A new client session (its own client ID and sequence numbers). */
  session(clientId: string = randomUUID()): KvSession {
    return new KvSession(this, clientId);
  }

  /** Sends to the leader as far as known; follows hints; retries retryable failures, bounded. */
  call<Req, Res>(method: KvMethod, req: Req): Promise<Res> {
    return this.withRetries((target) => this.unary<Req, Res>(target, method, req));
  }

  /** A put as a message on the leader's PutStream, with call()'s retries. */
  putStreamed(req: PutRequest): Promise<void> {
    return this.withRetries((target) => this.putStreamTo(target).put(req));
  }

  private async withRetries<Res>(attempt: (target: NodeId) => Promise<Res>): Promise<Res> {
    let lastError: TswarmError | undefined;
    let backoffMs = this.backoffMsMin;
    for (let i = 0; i < this.attemptsMax; i++) {
      const target = this.leaderGuess ?? this.ids[this.next++ % this.ids.length]!;
      try {
        const res = await attempt(target);
        this.leaderGuess = target;
        return res;
      } catch (err) {
        const failure = attemptFailure(err);
        if (!RETRYABLE_CODES.has(failure.error.code)) throw failure.error;
        lastError = failure.error;
        const hint = failure.leaderHint;
        if (hint !== undefined && this.stubs.has(hint) && hint !== target) {
          this.leaderGuess = hint; // go straight there
          continue;
        }
        this.leaderGuess = undefined;
        await sleep(backoffMs);
        backoffMs = Math.min(this.backoffMsMax, backoffMs * 2);
      }
    }
    throw new TswarmError(
      'UNAVAILABLE',
      `kv: no member accepted the request after ${this.attemptsMax} attempts (last: ${lastError?.message ?? 'none'})`,
      {
        cause: lastError,
      },
    );
  }

  private putStreamTo(target: NodeId): PutStream {
    let stream = this.putStreams.get(target);
    if (!stream) {
      const stub = this.stubs.get(target)!;
      stream = new PutStream(() => stub.putStream(), this.requestTimeoutMs);
      this.putStreams.set(target, stream);
    }
    return stream;
  }

  private unary<Req, Res>(target: NodeId, method: KvMethod, req: Req): Promise<Res> {
    const stub = this.stubs.get(target)!;
    const fn = stub[method] as unknown as Unary<Req, Res>;
    return new Promise((resolve, reject) => {
      fn.call(stub, req, { deadline: Date.now() + this.requestTimeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  close(): void {
    for (const s of this.putStreams.values()) s.close();
    for (const s of this.stubs.values()) s.close();
  }
}

/** One client of the state machine: one command at a time, each with the next sequence number. */
export class KvSession {
  private seq = 0;
  private busy = false;

  constructor(
    private readonly client: KvClient,
    readonly clientId: string,
  ) {}

  async put(key: string, value: string): Promise<void> {
    // Deduplication remembers only a client's last command, so a session must not overlap its own.
    if (this.busy)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'kv: a session runs one command at a time. Use a session per concurrent caller',
      );
    this.busy = true;
    try {
      const req: PutRequest = { clientId: this.clientId, seq: ++this.seq, key, value };
      if (this.client.coalescer) await this.client.coalescer.put(req);
      else if (this.client.streamPuts) await this.client.putStreamed(req);
      else await this.client.call<PutRequest, PutResponse>('put', req);
    } finally {
      this.busy = false;
    }
  }

  async get(key: string): Promise<string> {
    const res = await this.client.call<GetRequest, GetResponse>('get', { key });
    return res.value;
  }
}
