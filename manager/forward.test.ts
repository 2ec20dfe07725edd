import { afterEach, describe, expect, it } from 'vitest';
import {
  credentials,
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { toServiceError, TswarmError } from '../lib/errors.js';
import {
  LogBrokerServiceService,
  type PublishLogsRequest,
  type PublishLogsResponse,
} from '../gen/tswarm/v1/logbroker.js';
import { unaryHandler } from '../lib/grpc.js';
import { REQUEST_ID_METADATA_KEY } from '../lib/request-id.js';
import {
  CAServiceService,
  NodeCAServiceService,
  type GetRootCACertificateRequest,
  type GetRootCACertificateResponse,
} from '../gen/tswarm/v1/ca.js';
import { FORWARDED_FOR_METADATA_KEY, type Caller } from './authz/authz.js';
import { LeaderForwarder } from './forward.js';

// A real gRPC server on 127.0.0.1 stands in for the leader; TLS is not the forwarder's business.
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function listen(server: Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => void server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** The credentials the forwarder asked for, by what it expected: the leader's node ID at its address. */
const expectations: { addr: string; nodeIds: readonly string[] }[] = [];

function forwarderTo(addr: string | undefined): LeaderForwarder {
  const f = new LeaderForwarder(
    (expected) => {
      expectations.push(expected);
      return credentials.createInsecure();
    },
    () => (addr === undefined ? undefined : { nodeId: 'leader1', addr }),
  );
  cleanups.push(() => f.close());
  return f;
}

async function failure(p: Promise<unknown>): Promise<TswarmError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as TswarmError,
  );
}

const worker: Caller = { kind: 'node', nodeId: 'w1', role: 'worker' };

describe('LeaderForwarder', () => {
  it('refuses at once when there is no leader, saying why', async () => {
    const e = await failure(
      forwarderTo(undefined).forward(CAServiceService, 'tswarm.v1.CAService', 'getRootCaCertificate', {}, worker, 'r'),
    );
    expect(e).toBeInstanceOf(TswarmError);
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/^no leader: an election is under way, or the managers lost quorum/);
  });

  it('carries the call to the leader, naming the original caller and keeping its request ID', async () => {
    const seen: (string | Buffer)[][] = [];
    const server = new Server();
    server.addService(CAServiceService, {
      getRootCaCertificate: unaryHandler(
        async (
          _req: GetRootCACertificateRequest,
          call: ServerUnaryCall<unknown, unknown>,
        ): Promise<GetRootCACertificateResponse> => {
          seen.push([...call.metadata.get(FORWARDED_FOR_METADATA_KEY), ...call.metadata.get(REQUEST_ID_METADATA_KEY)]);
          return { certificatePem: Buffer.from('the CA') };
        },
      ),
    });
    const f = forwarderTo(await listen(server));
    const res = await f.forward<GetRootCACertificateResponse>(
      CAServiceService,
      'tswarm.v1.CAService',
      'getRootCaCertificate',
      {},
      worker,
      'req-1',
    );
    expect(Buffer.from(res.certificatePem).toString()).toBe('the CA');
    // The dial expects the leader's own certificate, not any manager's.
    expect(expectations.at(-1)).toEqual({ addr: f['leader']()!.addr, nodeIds: ['leader1'] });
    await f.forward(
      CAServiceService,
      'tswarm.v1.CAService',
      'getRootCaCertificate',
      {},
      { kind: 'anonymous' },
      'req-2',
    );
    // The leader authorizes the original caller and sees the request ID the call came with.
    expect(seen).toEqual([
      ['w1', 'req-1'],
      ['anonymous', 'req-2'],
    ]);
  });

  it('passes the leader’s own errors through unchanged, even UNAVAILABLE', async () => {
    const server = new Server();
    server.addService(NodeCAServiceService, {
      issueNodeCertificate: unaryHandler(async () => {
        throw new TswarmError('PERMISSION_DENIED', 'bad token');
      }),
      nodeCertificateStatus: unaryHandler(async () => {
        throw new TswarmError('UNAVAILABLE', 'the leader is stepping down');
      }),
    });
    const f = forwarderTo(await listen(server));
    const issue = { csrPem: Buffer.from('a CSR'), token: 't', availability: 0, hostname: 'h' };
    const denied = await failure(
      f.forward(NodeCAServiceService, 'tswarm.v1.NodeCAService', 'issueNodeCertificate', issue, worker, 'r'),
    );
    expect([denied.code, denied.message]).toEqual(['PERMISSION_DENIED', 'bad token']);
    const busy = await failure(
      f.forward(
        NodeCAServiceService,
        'tswarm.v1.NodeCAService',
        'nodeCertificateStatus',
        { nodeId: 'w1' },
        worker,
        'r',
      ),
    );
    expect([busy.code, busy.message]).toEqual(['UNAVAILABLE', 'the leader is stepping down']);
  });

  it('names a leader that does not answer, pointing at quorum', async () => {
    const server = new Server();
    const addr = await listen(server);
    server.forceShutdown(); // nothing listens there any more
    const e = await failure(
      forwarderTo(addr).forward(CAServiceService, 'tswarm.v1.CAService', 'getRootCaCertificate', {}, worker, 'r'),
    );
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain(`the leader at ${addr} does not answer`);
  });

  it('refuses a method the service does not have', async () => {
    const f = forwarderTo('127.0.0.1:1');
    const e = await failure(f.forward(CAServiceService, 'tswarm.v1.CAService', 'noSuchMethod', {}, worker, 'r'));
    expect(e.code).toBe('INTERNAL');
  });

  it('carries a client stream to the leader: every message in order, its caller named, the leader’s answer back', async () => {
    const received: PublishLogsRequest[] = [];
    const callers: (string | Buffer)[] = [];
    const server = new Server();
    server.addService(LogBrokerServiceService, {
      listenSubscriptions: (call: { end(): void }) => call.end(),
      publishLogs: (
        call: ServerReadableStream<PublishLogsRequest, PublishLogsResponse>,
        cb: sendUnaryData<unknown>,
      ) => {
        callers.push(...call.metadata.get(FORWARDED_FOR_METADATA_KEY));
        call.on('data', (m: PublishLogsRequest) => received.push(m));
        call.on('end', () => cb(null, {}));
      },
    });
    const f = forwarderTo(await listen(server));
    const messages = Array.from({ length: 50 }, (_, i) => ({
      subscriptionId: 's1',
      lines: [],
      close: i === 49,
    }));
    async function* requests() {
      yield* messages;
    }
    const res = await f.forwardClientStream(
      LogBrokerServiceService,
      'tswarm.v1.LogBrokerService',
      'publishLogs',
      requests(),
      worker,
      new AbortController().signal,
    );
    expect(res).toEqual({});
    expect(received).toEqual(messages);
    expect(callers).toEqual(['w1']);
  });

  it('a client stream the leader refuses fails with the leader’s error, and the rest is not sent', async () => {
    const server = new Server();
    server.addService(LogBrokerServiceService, {
      listenSubscriptions: (call: { end(): void }) => call.end(),
      publishLogs: (_call: unknown, cb: sendUnaryData<unknown>) =>
        cb(toServiceError(new TswarmError('NOT_FOUND', 'log subscription s1 is over'))),
    });
    const f = forwarderTo(await listen(server));
    async function* forever() {
      for (;;) {
        yield { subscriptionId: 's1', lines: [], close: false };
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const e = await failure(
      f.forwardClientStream(
        LogBrokerServiceService,
        'tswarm.v1.LogBrokerService',
        'publishLogs',
        forever(),
        worker,
        new AbortController().signal,
      ),
    );
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'log subscription s1 is over']);
  });
});
