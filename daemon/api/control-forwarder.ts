import {
  makeGenericClientConstructor,
  Metadata,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { ControlServiceService } from '../../gen/tswarm/v1/control.js';
import { fromServiceError, TswarmError } from '../../lib/errors.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../lib/tls.js';
import { systemClock } from '../../lib/clock.js';
import { newRequestId, REQUEST_ID_METADATA_KEY } from '../../lib/request-id.js';
import { retryWhileUnavailable } from './control-retry.js';
import type { Swarm } from '../swarm.js';

const CONTROL_DEADLINE_MS = 30_000;
type UnaryFn = (req: unknown, md: Metadata, opts: object, cb: (e: ServiceError | null, r: unknown) => void) => void;
type StreamFn = (req: unknown, md: Metadata) => ClientReadableStream<unknown>;

type Defs = typeof ControlServiceService;
/** The control API's unary methods. */
export type ControlMethod = {
  [K in keyof Defs]: Defs[K]['responseStream'] extends false ? K : never;
}[keyof Defs];
/** Its server streams (service logs). */
export type ControlStreamMethod = {
  [K in keyof Defs]: Defs[K]['responseStream'] extends true ? K : never;
}[keyof Defs];
export type ControlRequest<K extends keyof Defs> = Parameters<Defs[K]['requestSerialize']>[0];
export type ControlResponse<K extends keyof Defs> = ReturnType<Defs[K]['responseDeserialize']>;

/**
 * Carries control calls to this node's manager with the node's own certificate, so the cluster
 * only ever sees node identities (docs/security.md, The local socket). One client per daemon,
 * redialled when the manager address or the membership changes; used by the Engine API's swarm and node routes.
 */
export class ControlForwarder {
  private client: Client | undefined;
  /** The manager address and membership (cluster ID, node ID) the client was made for. */
  private clientKey = '';

  constructor(private readonly swarm: Swarm) {}

  /**
   * One request, one request ID, kept by its retries: a write retried across a leader change is
   * applied at most once (control-retry.ts).
   */
  async call<K extends ControlMethod>(method: K, request: ControlRequest<K>): Promise<ControlResponse<K>> {
    const requestId = newRequestId();
    const attempt = () => this.callUntyped(method, request, requestId);
    return (await retryWhileUnavailable(attempt, systemClock)) as ControlResponse<K>;
  }

  /**
   * A server stream of the control API (service logs): its messages as they come, each read once
   * the caller has taken the one before (a slow reader slows the stream, nothing piles up);
   * `signal` cancels it. Not retried: a stream cut halfway cannot resume without repeating lines.
   */
  async *stream<K extends ControlStreamMethod>(
    method: K,
    request: ControlRequest<K>,
    signal: AbortSignal,
  ): AsyncGenerator<ControlResponse<K>> {
    const client = this.clientFor();
    const fn = (client as unknown as Record<string, StreamFn>)[method]!;
    const call = fn.call(client, request, new Metadata());
    const cancel = () => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call as AsyncIterable<ControlResponse<K>>) yield message;
    } catch (err) {
      if (signal.aborted) return;
      throw fromServiceError(err as ServiceError);
    } finally {
      signal.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  private async callUntyped(method: string, request: unknown, requestId: string): Promise<unknown> {
    const c = this.clientFor();
    const fn = (c as unknown as Record<string, UnaryFn>)[method]!;
    const metadata = new Metadata();
    metadata.set(REQUEST_ID_METADATA_KEY, requestId);
    return new Promise((resolve, reject) =>
      fn.call(c, request, metadata, { deadline: Date.now() + CONTROL_DEADLINE_MS }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res),
      ),
    );
  }

  /** The client of this node's own manager; refused on a node outside a swarm or on a worker. */
  private clientFor(): Client {
    const node = this.swarm.node;
    if (node.role === 'none')
      throw new TswarmError(
        'NOT_IN_SWARM',
        'this node is not part of a swarm. Create one with `tswarm init` or join one with `tswarm join`',
      );
    if (node.role !== 'manager')
      throw new TswarmError(
        'NOT_A_MANAGER',
        'this node is not a manager. Run the command on a manager, or promote this node with `tswarm node promote` there',
      );
    const addr = this.swarm.managerAddr();
    // A new membership (leave, then init or join) may reach its manager at the same address, but
    // with another node certificate and root CA: the client made for the old one would fail TLS.
    const key = `${addr} ${node.clusterId} ${node.nodeId}`;
    if (!this.client || this.clientKey !== key) {
      this.client?.close();
      const Ctor = makeGenericClientConstructor(ControlServiceService, 'tswarm.v1.ControlService');
      // The node's own manager: the dial checks it presents this node's certificate.
      this.client = new Ctor(addr, this.swarm.credentials(this.swarm.expectedManagerAt(addr)), MANAGER_CHANNEL_OPTIONS);
      this.clientKey = key;
    }
    return this.client;
  }
}

const forwarders = new WeakMap<Swarm, ControlForwarder>();

/** The daemon's one forwarder for this swarm membership. */
export function controlForwarder(swarm: Swarm): ControlForwarder {
  let f = forwarders.get(swarm);
  if (!f) {
    f = new ControlForwarder(swarm);
    forwarders.set(swarm, f);
  }
  return f;
}
