/**
 * The KV client: finds the leader (following not-leader answers, else trying members in turn)
 * and retries until a command succeeds, within bounds. A session is one client ID with a
 * sequence number per command; a retry reuses the number, so the state machine applies each
 * command at most once however often it is retried. Sessions share the members' connections.
 */
import { makeGenericClientConstructor, status, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { fromServiceError, TswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../types.js';
import { PutCoalescer } from './coalescer.js';
import {
  KvServiceDefinition,
  LEADER_METADATA_KEY,
  type GetRequest,
  type GetResponse,
  type PutBatchRequest,
  type PutBatchResponse,
  type PutRequest,
  type PutResponse,
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
}

type Unary<Req, Res> = (req: Req, options: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => void;
interface KvStub extends Client {
  put: Unary<PutRequest, PutResponse>;
  putBatch: Unary<PutBatchRequest, PutBatchResponse>;
  get: Unary<GetRequest, GetResponse>;
}

type KvMethod = 'put' | 'putBatch' | 'get';

const KvStubConstructor = makeGenericClientConstructor(KvServiceDefinition, 'tswarm.raftkv.Kv') as unknown as new (
  addr: string,
  creds: ChannelCredentials,
  options: Record<string, number>,
) => KvStub;

/**
 * Errors after which another member (or the same, later) may succeed. CANCELLED is what a call
 * in flight gets when its server shuts down; retrying it is safe because commands carry their
 * client ID and sequence number.
 */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED, status.CANCELLED]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KvClient {
  private readonly stubs = new Map<NodeId, KvStub>();
  private readonly ids: NodeId[];
  private leaderGuess: NodeId | undefined;
  private next = 0;
  private readonly requestTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly backoffMsMin: number;
  private readonly backoffMsMax: number;
  /** Set when coalescing puts. */
  readonly coalescer: PutCoalescer | undefined;

  constructor(options: KvClientOptions) {
    for (const [id, addr] of options.endpoints) this.stubs.set(id, new KvStubConstructor(addr, options.credentials, { 'grpc.enable_channelz': 0 }));
    this.ids = [...options.endpoints.keys()];
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    // With the 100 ms backoff cap, about 15 s of trying: several elections even with slow ticks.
    this.attemptsMax = options.attemptsMax ?? 150;
    this.backoffMsMin = options.backoffMsMin ?? 20;
    // Low: while a new leader is elected (~1.3 s with default ticks), a long sleep here would come on top of it.
    this.backoffMsMax = options.backoffMsMax ?? 100;
    this.coalescer = options.coalesce ? new PutCoalescer(this, this.attemptsMax) : undefined;
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
  async call<Req, Res>(method: KvMethod, req: Req): Promise<Res> {
    let lastError: TswarmError | undefined;
    let backoffMs = this.backoffMsMin;
    for (let attempt = 0; attempt < this.attemptsMax; attempt++) {
      const target = this.leaderGuess ?? this.ids[this.next++ % this.ids.length]!;
      try {
        const res = await this.unary<Req, Res>(target, method, req);
        this.leaderGuess = target;
        return res;
      } catch (err) {
        const se = err as ServiceError;
        if (typeof se.code !== 'number' || !RETRYABLE.has(se.code)) throw fromServiceError(se);
        lastError = fromServiceError(se);
        const hint = se.metadata?.get(LEADER_METADATA_KEY)[0];
        if (typeof hint === 'string' && this.stubs.has(hint) && hint !== target) {
          this.leaderGuess = hint; // go straight there
          continue;
        }
        this.leaderGuess = undefined;
        await sleep(backoffMs);
        backoffMs = Math.min(this.backoffMsMax, backoffMs * 2);
      }
    }
    throw new TswarmError('UNAVAILABLE', `kv: no member accepted the request after ${this.attemptsMax} attempts (last: ${lastError?.message ?? 'none'})`, {
      cause: lastError,
    });
  }

  private unary<Req, Res>(target: NodeId, method: KvMethod, req: Req): Promise<Res> {
    const stub = this.stubs.get(target)!;
    const fn = stub[method] as unknown as Unary<Req, Res>;
    return new Promise((resolve, reject) => {
      fn.call(stub, req, { deadline: Date.now() + this.requestTimeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
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
    if (this.busy) throw new TswarmError('FAILED_PRECONDITION', 'kv: a session runs one command at a time. Use a session per concurrent caller');
    this.busy = true;
    try {
      const req: PutRequest = { clientId: this.clientId, seq: ++this.seq, key, value };
      if (this.client.coalescer) await this.client.coalescer.put(req);
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
