import {
  makeGenericClientConstructor,
  Metadata,
  type ChannelCredentials,
  type Client,
  type ClientReadableStream,
  type ClientWritableStream,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { ERROR_CODE_METADATA_KEY, fromServiceError, TswarmError } from '../lib/errors.js';
import { MANAGER_CHANNEL_OPTIONS } from '../lib/tls.js';
import type { StreamSink } from '../lib/grpc.js';
import { REQUEST_ID_METADATA_KEY } from '../lib/request-id.js';
import type { ExpectedManager } from '../lib/manager-identity.js';
import { FORWARDED_FOR_METADATA_KEY, type Caller } from './authz/authz.js';

/** A forwarded call that takes longer than this has lost its leader; the caller retries. */
const FORWARD_DEADLINE_MS = 15_000;

type StreamFn = (req: unknown, md: Metadata) => ClientReadableStream<unknown>;
type UnaryFn = (req: unknown, md: Metadata, opts: object, cb: (e: ServiceError | null, r: unknown) => void) => void;
type ClientStreamFn = (md: Metadata, cb: (e: ServiceError | null, r: unknown) => void) => ClientWritableStream<unknown>;

/**
 * Carries a call that reached a follower to the leader, naming the original caller so the
 * leader authorizes the real caller (SwarmKit's raft proxy), and keeping the request ID the call
 * came with, so the leader applies a retried write at most once. One client per leader address.
 */
export class LeaderForwarder {
  private clients = new Map<string, Client>();

  constructor(
    /** Credentials that check the server is the expected manager (lib/manager-identity.ts). */
    private readonly credentials: (expected: ExpectedManager) => ChannelCredentials,
    /** The leader as this member's Raft knows it: its node ID and address. */
    private readonly leader: () => { nodeId: string; addr: string } | undefined,
  ) {}

  async forward<Res>(
    definition: ServiceDefinition,
    serviceName: string,
    method: string,
    request: unknown,
    caller: Caller,
    requestId: string,
  ): Promise<Res> {
    const leader = this.leader();
    if (!leader) throw noLeader();
    const addr = leader.addr;
    const client = this.client(definition, serviceName, leader);
    const metadata = forwardedFor(caller);
    metadata.set(REQUEST_ID_METADATA_KEY, requestId);
    const fn = (client as unknown as Record<string, UnaryFn>)[method];
    if (!fn) throw new TswarmError('INTERNAL', `cannot forward ${serviceName}.${method}: no such method`);
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, request, metadata, { deadline: Date.now() + FORWARD_DEADLINE_MS }, (err, res) =>
        err ? reject(explain(err, addr)) : resolve(res as Res),
      );
    });
  }

  /**
   * Carries a server stream to the leader: the leader's messages are written to `sink` (the reader
   * upstream pauses while the caller's buffer is full), the leader's end or error ends it, and the
   * caller going away cancels the upstream call. No deadline: sessions live as long as the leader.
   */
  forwardStream<Res>(
    definition: ServiceDefinition,
    serviceName: string,
    method: string,
    request: unknown,
    caller: Caller,
    sink: StreamSink<Res>,
  ): Promise<void> {
    const leader = this.leader();
    if (!leader) return Promise.reject(noLeader());
    const addr = leader.addr;
    const client = this.client(definition, serviceName, leader);
    const fn = (client as unknown as Record<string, StreamFn>)[method];
    if (!fn)
      return Promise.reject(new TswarmError('INTERNAL', `cannot forward ${serviceName}.${method}: no such method`));
    const upstream = fn.call(client, request, forwardedFor(caller));
    return new Promise<void>((resolve, reject) => {
      const cancel = () => upstream.cancel();
      sink.signal.addEventListener('abort', cancel, { once: true });
      upstream.on('data', (message: Res) => {
        upstream.pause();
        void sink.write(message).then(() => upstream.resume());
      });
      upstream.on('end', () => {
        sink.signal.removeEventListener('abort', cancel);
        resolve();
      });
      upstream.on('error', (err: ServiceError) => {
        sink.signal.removeEventListener('abort', cancel);
        reject(explain(err, addr));
      });
    });
  }

  /**
   * Carries a client stream (a node's PublishLogs) to the leader: each message read from the
   * caller is written upstream, the next read only once the leader's side takes more (so the
   * caller's pace is the leader's); the caller's end ends it, the leader's answer answers it, and
   * the caller going away (`signal`) cancels the upstream call.
   */
  async forwardClientStream<Res>(
    definition: ServiceDefinition,
    serviceName: string,
    method: string,
    requests: AsyncIterable<unknown>,
    caller: Caller,
    signal: AbortSignal,
  ): Promise<Res> {
    const leader = this.leader();
    if (!leader) throw noLeader();
    const addr = leader.addr;
    const client = this.client(definition, serviceName, leader);
    const fn = (client as unknown as Record<string, ClientStreamFn>)[method];
    if (!fn) throw new TswarmError('INTERNAL', `cannot forward ${serviceName}.${method}: no such method`);
    let answered = false;
    let upstream!: ClientWritableStream<unknown>;
    const answer = new Promise<Res>((resolve, reject) => {
      upstream = fn.call(client, forwardedFor(caller), (err, res) => {
        answered = true;
        if (err) reject(explain(err, addr));
        else resolve(res as Res);
      });
    });
    // Settled by the paths below; one that fails unobserved (the caller gave up first) is not an unhandled rejection.
    answer.catch(() => undefined);
    const cancel = () => upstream.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of requests) {
        // The leader answered (or failed) before the caller finished: what is left has nowhere to go.
        if (answered) break;
        if (!upstream.write(message)) await drained(upstream, answer);
      }
      upstream.end();
      return await answer;
    } catch (err) {
      upstream.cancel();
      throw err;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  private client(
    definition: ServiceDefinition,
    serviceName: string,
    { addr, nodeId }: { addr: string; nodeId: string },
  ): Client {
    // Keyed by the leader's node ID too: the dial checks the certificate names that node.
    const key = `${serviceName}@${addr}#${nodeId}`;
    let client = this.clients.get(key);
    if (!client) {
      const Ctor = makeGenericClientConstructor(definition, serviceName);
      client = new Ctor(addr, this.credentials({ addr, nodeIds: [nodeId] }), MANAGER_CHANNEL_OPTIONS);
      this.clients.set(key, client);
    }
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** Resolves when the upstream takes more, or when its call has settled (then writing is over anyway). */
function drained(upstream: ClientWritableStream<unknown>, answer: Promise<unknown>): Promise<void> {
  return Promise.race([
    new Promise<void>((resolve) => upstream.once('drain', () => resolve())),
    answer.then(
      () => undefined,
      () => undefined,
    ),
  ]);
}

function noLeader(): TswarmError {
  return new TswarmError(
    'UNAVAILABLE',
    'no leader: an election is under way, or the managers lost quorum (a majority is down). Retry shortly; if managers are lost for good, see “Recovering from a lost quorum” in the README',
  );
}

/** The original caller, named for the leader (only a manager's word for it is believed there). */
function forwardedFor(caller: Caller): Metadata {
  const metadata = new Metadata();
  metadata.set(FORWARDED_FOR_METADATA_KEY, caller.kind === 'anonymous' ? 'anonymous' : caller.nodeId);
  return metadata;
}

/** A leader that does not answer is named as such: the operator's next question is about quorum. */
function explain(err: ServiceError, addr: string): TswarmError {
  const e = fromServiceError(err);
  const fromLeader = (err.metadata?.get(ERROR_CODE_METADATA_KEY).length ?? 0) > 0;
  if (fromLeader || (e.code !== 'UNAVAILABLE' && e.code !== 'DEADLINE_EXCEEDED')) return e;
  return new TswarmError(
    'UNAVAILABLE',
    `the leader at ${addr} does not answer (${err.details}). If it just went down, a new leader is being elected: retry shortly; if a majority of managers is down, the cluster has lost quorum — see “Recovering from a lost quorum” in the README`,
    { cause: err },
  );
}
