import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/poll.js';
import { ApiClient, streamFailure } from '../../lib/api-client/client.js';
import { readLines } from '../../lib/api-client/json-lines.js';
import { EventBus, RING_BYTES_MAX, RING_EVENTS_MAX, SUBSCRIBERS_MAX } from '../events/bus.js';
import { createApiServer } from './server.js';
import { Router } from './router.js';
import { eventRoutes } from './events.js';
import type { ApiContext } from './routes.js';

let dir: string;
let server: Server;
let api: ApiClient;
let bus: EventBus;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tswarm-events-api-'));
  // A reader may fall only 3 events behind, so a burst shows the cut-off.
  bus = new EventBus(undefined, {
    ringEventsMax: RING_EVENTS_MAX,
    ringBytesMax: RING_BYTES_MAX,
    queueEventsMax: 3,
    subscribersMax: SUBSCRIBERS_MAX,
  });
  server = createApiServer(new Router(eventRoutes({ events: bus } as ApiContext)), silentLogger());
  const sock = join(dir, 'api.sock');
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  api = new ApiClient(`unix://${sock}`);
});

afterEach(async () => {
  api.close();
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function readAll(res: AsyncIterable<Buffer>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const line of readLines(res)) out.push(JSON.parse(line) as Record<string, unknown>);
  return out;
}

describe('GET /events', () => {
  it('with an until already past: the kept events in the window, then the end', async () => {
    bus.log('container', 'create', 'c1', { name: 'web' });
    bus.log('container', 'start', 'c1', { name: 'web' });
    bus.log('image', 'pull', 'busybox:1', { name: 'busybox' });
    // An until after those events (two in one millisecond are a nanosecond apart) and before now.
    const afterMs = Date.now() + 1;
    await waitFor(() => Date.now() > afterMs, {
      what: 'the clock to pass the events',
      timeoutMs: 1_000,
      intervalMs: 1,
    });
    const res = await api.request('GET', '/events', {
      query: { since: '0', until: String(afterMs / 1000), filters: '{"type":["container"]}' },
    });
    expect(res.headers['content-type']).toBe('application/json');
    const events = await readAll(res);
    expect(events.map((e) => e.Action)).toEqual(['create', 'start']);
    expect(streamFailure(res)).toBeUndefined();
  });

  it('with an until to come: live events until then, then the end', async () => {
    const res = await api.request('GET', '/events', { query: { until: String((Date.now() + 500) / 1000) } });
    await waitFor(() => bus.subscriberCount === 1, { what: 'the stream to subscribe', timeoutMs: 5_000 });
    bus.log('volume', 'create', 'data', { driver: 'local' });
    const events = await readAll(res);
    expect(events.map((e) => `${String(e.Type)} ${String(e.Action)}`)).toEqual(['volume create']);
    expect(bus.subscriberCount).toBe(0);
  });

  it('refuses a bad time, a since after the until, and an unknown filter before the stream starts', async () => {
    await expect(api.request('GET', '/events', { query: { since: '10m' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('since=10m is not a Unix time'),
    });
    await expect(api.request('GET', '/events', { query: { since: '20', until: '10' } })).rejects.toThrow(
      /cannot be after `until` time/,
    );
    await expect(api.request('GET', '/events', { query: { filters: '{"colour":["red"]}' } })).rejects.toThrow(
      /invalid filter 'colour'/,
    );
  });

  it('cuts off a reader that falls too far behind: the stream ends, and its trailers say why', async () => {
    const res = await api.request('GET', '/events');
    await waitFor(() => bus.subscriberCount === 1, { what: 'the stream to subscribe', timeoutMs: 5_000 });
    // One burst, faster than any reader: the fifth waiting event is one too many.
    for (let i = 0; i < 10; i++) bus.log('container', `e${i}`, 'c', {});
    const events = await readAll(res);
    expect(events.length).toBeLessThan(10);
    expect(streamFailure(res)).toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      message: expect.stringContaining('fell more than 3 events behind'),
    });
  });

  it('ends every stream when the daemon stops', async () => {
    const res = await api.request('GET', '/events');
    await waitFor(() => bus.subscriberCount === 1, { what: 'the stream to subscribe', timeoutMs: 5_000 });
    bus.close();
    expect(await readAll(res)).toEqual([]);
  });
});
