import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { silentLogger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import { field, stringArray } from './body.js';
import { muxFrames } from './reply.js';
import { Router } from './router.js';
import { createApiServer, HEADERS_TIMEOUT_MS } from './server.js';

let dir: string;
let server: Server;
let socketPath: string;
const created: string[] = [];
let lateWrite: Promise<string> | undefined;

const router = new Router([
  {
    method: 'POST',
    path: '/things/create',
    handler: async (req, reply) => {
      const body = await req.json();
      const name = field(body, 'Name', 'string') ?? '';
      const cmd = stringArray(body, 'Cmd') ?? [];
      if (created.includes(name)) throw new TswarmError('ALREADY_EXISTS', `the name "${name}" is already in use`);
      created.push(name);
      reply.json(201, { Id: name, Cmd: cmd, Version: req.version });
    },
  },
  {
    method: 'GET',
    path: '/things/{id}/json',
    handler: async (req, reply) => reply.json(200, { Id: req.params['id'] }),
  },
  {
    method: 'GET',
    path: '/things/{id}/progress',
    handler: async (_req, reply) => {
      const sink = reply.stream(200, 'application/json');
      await sink.write('{"status":"one"}\n');
      sink.end();
      // A late reporter (a pull's other layers after one failed) writes after the end.
      lateWrite = sink.write('{"status":"late"}\n').then(
        () => 'written',
        () => 'refused',
      );
    },
  },
  {
    method: 'POST',
    path: '/things/{id}/attach',
    handler: async (_req, reply) => {
      const sink = reply.upgrade('application/vnd.docker.multiplexed-stream');
      for (const f of [...muxFrames('stdout', 'out\n'), ...muxFrames('stderr', 'err\n')]) await sink.write(f);
      sink.end();
    },
  },
]);

beforeEach(async () => {
  created.length = 0;
  dir = await mkdtemp(join(tmpdir(), 'tswarm-api-'));
  socketPath = join(dir, 'api.sock');
  server = createApiServer(router, silentLogger());
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes in, everything until the server closes (or the bound passes) out. */
function raw(bytes: string, waitMs: number): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
    }, waitMs);
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    socket.write(bytes);
  });
}

describe('the Engine API server', () => {
  it('serves versioned and unversioned paths, and says its API version', async () => {
    const r = await call('POST', '/v1.41/things/create', JSON.stringify({ Name: 'a', Cmd: ['sh'] }));
    expect(r).toMatchObject({ status: 201, json: { Id: 'a', Cmd: ['sh'], Version: '1.41' } });
    expect(r.headers['api-version']).toBe('1.50');
    expect((await call('GET', '/things/a%2Fb/json')).json).toEqual({ Id: 'a/b' });
  });

  it('refuses API versions outside 1.41-1.50 with 400, naming the range, and creates nothing', async () => {
    const tooNew = await call('POST', '/v1.51/things/create', JSON.stringify({ Name: 'x' }));
    expect(tooNew).toMatchObject({
      status: 400,
      json: { message: expect.stringContaining('Maximum supported API version is 1.50') },
    });
    const tooOld = await call('POST', '/v1.40/things/create', JSON.stringify({ Name: 'x' }));
    expect(tooOld).toMatchObject({
      status: 400,
      json: { message: expect.stringContaining('Minimum supported API version is 1.41') },
    });
    expect(created).toEqual([]);
  });

  it("answers bad bodies in Docker's error shape: malformed JSON, a wrong type, a name in use, too large", async () => {
    expect(await call('POST', '/things/create', '{"Name": ')).toMatchObject({
      status: 400,
      json: { message: expect.stringContaining('invalid JSON') },
    });
    expect(await call('POST', '/things/create', JSON.stringify({ Name: 5 }))).toMatchObject({
      status: 400,
      json: { message: 'Name must be a string, not number' },
    });
    expect(await call('POST', '/things/create', JSON.stringify({ Name: 'a', Cmd: ['sh', 1] }))).toMatchObject({
      status: 400,
      json: { message: 'Cmd[1] must be a string, not number' },
    });
    expect(created).toEqual([]);
    expect((await call('POST', '/things/create', JSON.stringify({ Name: 'a' }))).status).toBe(201);
    expect(await call('POST', '/things/create', JSON.stringify({ Name: 'a' }))).toMatchObject({
      status: 409,
      json: { message: expect.stringContaining('already in use') },
    });
    const big = JSON.stringify({ Name: 'b', Pad: 'x'.repeat(2 * 1024 * 1024) });
    expect(await call('POST', '/things/create', big)).toMatchObject({
      status: 413,
      json: { message: expect.stringContaining('over') },
    });
    expect(created).toEqual(['a']);
  });

  it('answers an unknown path 404 "page not found", as dockerd', async () => {
    expect(await call('GET', '/nothing/here')).toMatchObject({ status: 404, json: { message: 'page not found' } });
  });

  it('refuses . and .. path segments (also percent-encoded) instead of resolving them onto another route', async () => {
    // As an image name a script passed on: `/things/../things/create` would otherwise create.
    for (const path of ['/things/../things/create', '/v1.50/things/%2E%2e/things/create', '/things/./create']) {
      const r = await call('POST', path, '{"Name":"sneaky"}');
      expect(r.status, path).toBe(400);
      expect(r.json).toMatchObject({ message: expect.stringMatching(/segment\. Name the object itself/) });
      expect(r.headers['tswarm-error-code']).toBe('INVALID_ARGUMENT');
    }
    expect(created).toEqual([]);
  });

  it('closes a connection that sends half a request and stalls, within the headers bound, and keeps serving', async () => {
    const stalled = await raw('GET /things/a/json HTTP/1.1\r\nHost: x\r\n', HEADERS_TIMEOUT_MS + 5_000);
    expect(stalled.closedByServer).toBe(true);
    expect((await call('GET', '/things/b/json')).json).toEqual({ Id: 'b' });
  }, 30_000);

  it('refuses a write after a stream ended instead of crashing the daemon, and keeps serving', async () => {
    const r = await call('GET', '/things/x/progress');
    expect(r.status).toBe(200);
    expect(await lateWrite).toBe('refused');
    expect((await call('GET', '/things/y/json')).json).toEqual({ Id: 'y' });
  });

  it('switches an attach asking to upgrade to a raw multiplexed stream (101 UPGRADED)', async () => {
    const r = await raw(
      'POST /v1.50/things/x/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n',
      5_000,
    );
    expect(r.text).toMatch(/^HTTP\/1.1 101 UPGRADED\r\n/);
    const body = Buffer.from(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(body.subarray(0, 8)).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 0, 4]));
    expect(body.subarray(8, 12).toString()).toBe('out\n');
    expect(body[12]).toBe(2);
    expect(body.subarray(20, 24).toString()).toBe('err\n');
  });
});
