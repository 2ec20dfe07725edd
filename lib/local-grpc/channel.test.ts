import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Server,
  ServerCredentials,
  status,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLine } from '../../gen/lite/tswarm/v1/objects.js';
import { fromServiceError, toServiceError, TswarmError } from '../errors.js';
import { GrpcStatus } from '../grpc-status.js';
import { GrpcCallError, LocalGrpcChannel, type MethodDefinition } from './channel.js';

// The CLI's gRPC client against a real grpc-js server (what tswarmd runs) on a temp Unix socket.
// LogLine serves as request and response: `stream` says what the handler should do, `data` is
// payload. No test depends on timing: waits are bounded by deadlines, never asserted on.

const SERVICE = { fullName: 'tswarm.test.Echo' };
const method = (name: string): MethodDefinition<LogLine, LogLine> => ({
  name,
  requestType: LogLine,
  responseType: LogLine,
});
const UNARY = method('Unary');
const SERVER_STREAM = method('ServerStream');
const CLIENT_STREAM = method('ClientStream');
const SILENT = method('Silent');

const line = (stream: string, data: Buffer = Buffer.alloc(0), timestampMs = 0): LogLine => ({
  timestampMs,
  stream,
  data,
  nodeId: '',
  taskId: '',
});
const codec = {
  requestSerialize: (m: LogLine) => Buffer.from(LogLine.encode(m).finish()),
  requestDeserialize: (b: Buffer) => LogLine.decode(b),
  responseSerialize: (m: LogLine) => Buffer.from(LogLine.encode(m).finish()),
  responseDeserialize: (b: Buffer) => LogLine.decode(b),
};
const definition: ServiceDefinition = {
  Unary: { path: '/tswarm.test.Echo/Unary', requestStream: false, responseStream: false, ...codec },
  ServerStream: { path: '/tswarm.test.Echo/ServerStream', requestStream: false, responseStream: true, ...codec },
  ClientStream: { path: '/tswarm.test.Echo/ClientStream', requestStream: true, responseStream: false, ...codec },
  Silent: { path: '/tswarm.test.Echo/Silent', requestStream: false, responseStream: false, ...codec },
};

/** What the server saw of streams the client cancelled. */
const cancelled: string[] = [];

const unary: handleUnaryCall<LogLine, LogLine> = (call, cb) => {
  const req = call.request;
  if (req.stream === 'fail')
    return cb(toServiceError(new TswarmError('NOT_FOUND', 'no such thing: 50% of "x/y". Check the name')));
  if (req.stream === 'plain-fail') return cb({ code: status.UNAVAILABLE, details: 'registry down' });
  if (req.stream === 'big') return cb(null, line('big', Buffer.alloc(req.timestampMs, 7)));
  cb(null, line(`echo:${req.stream}`, req.data, req.timestampMs));
};

const serverStream: handleServerStreamingCall<LogLine, LogLine> = (call) => {
  const req = call.request;
  if (req.stream === 'fail-first') {
    call.emit(
      'error',
      Object.assign(new Error('refused'), toServiceError(new TswarmError('PERMISSION_DENIED', 'not allowed'))),
    );
    return;
  }
  if (req.stream === 'endless') {
    call.on('cancelled', () => cancelled.push('endless'));
    const timer = setInterval(() => call.write(line('tick')), 5);
    call.on('close', () => clearInterval(timer));
    call.on('cancelled', () => clearInterval(timer));
    return;
  }
  const count = req.timestampMs;
  const payload = req.data;
  let sent = 0;
  // Writes as fast as grpc-js lets it (respecting 'drain'), so a slow reader exercises flow control.
  const pump = () => {
    while (sent < count) {
      const ok = call.write(line(String(sent++), payload));
      if (!ok) return void call.once('drain', pump);
    }
    if (req.stream === 'fail-after')
      call.emit(
        'error',
        Object.assign(new Error('x'), toServiceError(new TswarmError('CONFLICT', 'changed meanwhile'))),
      );
    else call.end();
  };
  pump();
};

const clientStream: handleClientStreamingCall<LogLine, LogLine> = (call, cb) => {
  let bytes = 0;
  let messages = 0;
  call.on('data', (m: LogLine) => {
    messages++;
    bytes += m.data.length;
  });
  call.on('end', () => cb(null, line(`messages:${messages}`, Buffer.alloc(0), bytes)));
};

// Silent never answers: only a deadline (or the test's end) finishes the call.
const impl = {
  Unary: unary,
  ServerStream: serverStream,
  ClientStream: clientStream,
  Silent: (() => {}) as handleUnaryCall<LogLine, LogLine>,
};

let dir = '';
let socket = '';
let server: Server;

/** A grpc-js server as tswarmd runs one (the same message limit), on a Unix socket. */
async function serve(path: string): Promise<Server> {
  const s = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  s.addService(definition, impl);
  await new Promise<void>((resolve, reject) =>
    s.bindAsync(`unix://${path}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return s;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-local-grpc-'));
  socket = join(dir, 'test.sock');
  server = await serve(socket);
});

afterAll(async () => {
  server.forceShutdown();
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GrpcCallError);
    return err as GrpcCallError;
  }
  throw new Error('expected the call to fail');
}

describe('LocalGrpcChannel against grpc-js', () => {
  it('makes unary calls, several on one connection', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      const [a, b] = await Promise.all([
        ch.unary(SERVICE, UNARY, line('a', Buffer.from('hi'), 42), 10_000),
        ch.unary(SERVICE, UNARY, line('b'), 10_000),
      ]);
      expect(a).toMatchObject({ stream: 'echo:a', timestampMs: 42 });
      expect(Buffer.from(a.data).toString()).toBe('hi');
      expect(b.stream).toBe('echo:b');
    } finally {
      ch.close();
    }
  });

  it('turns an error status into a typed error, code and message intact', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      const err = await failure(ch.unary(SERVICE, UNARY, line('fail'), 10_000));
      expect(err.code).toBe(GrpcStatus.NOT_FOUND);
      // grpc-message is percent-encoded on the wire; the quote, slash and % come back as sent.
      expect(err.details).toBe('no such thing: 50% of "x/y". Check the name');
      const typed = fromServiceError(err);
      expect(typed).toBeInstanceOf(TswarmError);
      expect(typed.code).toBe('NOT_FOUND');
      expect(typed.message).toBe('no such thing: 50% of "x/y". Check the name');
      expect(err.metadata.get('tswarm-error-code')).toEqual(['NOT_FOUND']);

      const plain = await failure(ch.unary(SERVICE, UNARY, line('plain-fail'), 10_000));
      expect(fromServiceError(plain).code).toBe('UNAVAILABLE');
      expect(plain.metadata.get('tswarm-error-code')).toEqual([]);
    } finally {
      ch.close();
    }
  });

  it('streams server messages, then the status', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      const got: string[] = [];
      for await (const m of ch.serverStream(SERVICE, SERVER_STREAM, line('count', Buffer.from('x'), 5)))
        got.push(m.stream);
      expect(got).toEqual(['0', '1', '2', '3', '4']);

      const before: string[] = [];
      const err = await failure(
        (async () => {
          for await (const m of ch.serverStream(SERVICE, SERVER_STREAM, line('fail-after', Buffer.alloc(0), 3)))
            before.push(m.stream);
        })(),
      );
      expect(before).toEqual(['0', '1', '2']);
      expect(fromServiceError(err).code).toBe('CONFLICT');

      const first = await failure(
        (async () => {
          for await (const _ of ch.serverStream(SERVICE, SERVER_STREAM, line('fail-first')))
            throw new Error('no message expected');
        })(),
      );
      expect(fromServiceError(first)).toMatchObject({ code: 'PERMISSION_DENIED', message: 'not allowed' });
    } finally {
      ch.close();
    }
  });

  it('keeps every message of a stream its reader is slower than (flow control, no loss)', async () => {
    // A low mark, and a reader that yields to the event loop on every message, so the stream
    // is paused and resumed many times while the server keeps writing.
    const ch = new LocalGrpcChannel(socket, { queueBytesHigh: 128 * 1024 });
    try {
      const count = 200;
      let n = 0;
      for await (const m of ch.serverStream(SERVICE, SERVER_STREAM, line('count', Buffer.alloc(64 * 1024, 1), count))) {
        expect(m.stream).toBe(String(n++));
        expect(m.data.length).toBe(64 * 1024);
        await new Promise((r) => setTimeout(r, 0));
      }
      expect(n).toBe(count);
    } finally {
      ch.close();
    }
  });

  it('cancels a server stream when the loop is left early', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      let n = 0;
      for await (const _ of ch.serverStream(SERVICE, SERVER_STREAM, line('endless'))) if (++n === 3) break;
      expect(n).toBe(3);
      // The server sees the cancel; bounded wait, then the connection still serves calls.
      for (let i = 0; i < 200 && !cancelled.includes('endless'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(cancelled).toContain('endless');
      expect((await ch.unary(SERVICE, UNARY, line('after'), 10_000)).stream).toBe('echo:after');
    } finally {
      ch.close();
    }
  });

  it('sends a client stream in chunks and gets the one response', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      async function* chunks() {
        for (let i = 0; i < 20; i++) yield line('chunk', Buffer.alloc(1024 * 1024, i));
      }
      const r = await ch.clientStream(SERVICE, CLIENT_STREAM, chunks());
      expect(r).toMatchObject({ stream: 'messages:20', timestampMs: 20 * 1024 * 1024 });
    } finally {
      ch.close();
    }
  });

  it('cancels a client stream whose source fails, rethrowing the source error', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      async function* broken() {
        yield line('chunk', Buffer.alloc(10));
        throw new Error('disk read failed');
      }
      await expect(ch.clientStream(SERVICE, CLIENT_STREAM, broken())).rejects.toThrow('disk read failed');
    } finally {
      ch.close();
    }
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      const err = await failure(ch.unary(SERVICE, SILENT, line('wait'), 100));
      expect(err.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
      expect(fromServiceError(err).code).toBe('DEADLINE_EXCEEDED');
    } finally {
      ch.close();
    }
  });

  it('reassembles a message split over many HTTP/2 frames', async () => {
    const ch = new LocalGrpcChannel(socket);
    try {
      // 3 MiB arrives in DATA frames of at most 16 KiB: the decoder joins about 200 chunks.
      const r = await ch.unary(SERVICE, UNARY, line('big', Buffer.alloc(0), 3 * 1024 * 1024), 10_000);
      expect(r.data.length).toBe(3 * 1024 * 1024);
      expect(r.data.every((b) => b === 7)).toBe(true);
    } finally {
      ch.close();
    }
  });

  it('refuses a message over the limit, received or sent', async () => {
    const ch = new LocalGrpcChannel(socket, { messageBytesMax: 4096 });
    try {
      const received = await failure(ch.unary(SERVICE, UNARY, line('big', Buffer.alloc(0), 64 * 1024), 10_000));
      expect(received.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(received.details).toMatch(/^Received message larger than max \(\d+ vs\. 4096\)$/);
      const sent = await failure(ch.unary(SERVICE, UNARY, line('x', Buffer.alloc(8192)), 10_000));
      expect(sent.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(sent.details).toMatch(/^Sent message larger than max/);
      // The connection is still good for calls within the limit.
      expect((await ch.unary(SERVICE, UNARY, line('small'), 10_000)).stream).toBe('echo:small');
    } finally {
      ch.close();
    }
  });

  it('reports a socket nobody serves as UNAVAILABLE with the reason', async () => {
    const ch = new LocalGrpcChannel(join(dir, 'nobody.sock'));
    try {
      const err = await failure(ch.unary(SERVICE, UNARY, line('x'), 10_000));
      expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(err.details).toMatch(/ENOENT/);
    } finally {
      ch.close();
    }
  });

  it('fails a stream whose daemon goes away, and reconnects to the next daemon on the socket', async () => {
    const path = join(dir, 'restart.sock');
    const first = await serve(path);
    const ch = new LocalGrpcChannel(path);
    try {
      const err = await failure(
        (async () => {
          for await (const _ of ch.serverStream(SERVICE, SERVER_STREAM, line('endless'))) first.forceShutdown();
        })(),
      );
      expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
      const second = await serve(path);
      try {
        // The old connection may not have seen its close yet: retry, bounded, as a user would.
        let answered: LogLine | undefined;
        for (let i = 0; i < 50 && !answered; i++) {
          answered = await ch
            .unary(SERVICE, UNARY, line('again'), 10_000)
            .catch(async () => void (await new Promise((r) => setTimeout(r, 20))));
        }
        expect(answered?.stream).toBe('echo:again');
      } finally {
        second.forceShutdown();
      }
    } finally {
      ch.close();
    }
  });

  it('lets a finished client leave the process free to exit', async () => {
    const ch = new LocalGrpcChannel(socket);
    await ch.unary(SERVICE, UNARY, line('x'), 10_000);
    // Not closed on purpose: the idle connection is unref'd. Closing twice is harmless.
    ch.close();
    ch.close();
  });
});

describe('GrpcStatus', () => {
  it('has grpc-js’s numbers', () => {
    for (const [name, code] of Object.entries(GrpcStatus)) expect(status[name as keyof typeof status], name).toBe(code);
  });
});
