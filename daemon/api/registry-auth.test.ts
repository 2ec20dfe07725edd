import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../lib/api-client/client.js';
import { silentLogger } from '../../lib/log.js';
import { ImageService } from '../../engine/image/images.js';
import { makeFakeImage, startFakeRegistry, type FakeServer } from '../../engine/image/testing/fake-registry.js';
import { imageStreamRoutes } from './image-pull.js';
import { Router } from './router.js';
import type { ApiContext } from './routes.js';
import { createApiServer } from './server.js';
import { tswarmRoutes } from './tswarm.js';

/**
 * Registry credentials through the Engine API, against a fake registry that wants a bearer token:
 * the docker CLI's X-Registry-Auth on a pull and its POST /auth on login, and tswarm's own
 * daemon-kept login. Nothing of a caller's credentials may stay behind for another's pull.
 */
describe('registry credentials on the Engine API', () => {
  let dir = '';
  let registry: FakeServer;
  let images: ImageService;
  let server: Server;
  let api: ApiClient;
  const image = makeFakeImage();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tswarm-registry-auth-'));
    registry = await startFakeRegistry({
      repository: 'test/fake',
      tag: '1',
      image,
      auth: { scheme: 'bearer', username: 'bob', password: 'pw' },
    });
    images = new ImageService({
      root: join(dir, 'images'),
      credentialsPath: join(dir, 'credentials.json'),
      insecureRegistries: [registry.host],
      registry: { attemptsMax: 2, backoffBaseMs: 5 },
    });
    // Only what these routes reach: the image service (and nothing of a swarm).
    const ctx = { engine: { images } } as unknown as ApiContext;
    server = createApiServer(new Router([...imageStreamRoutes(ctx), ...tswarmRoutes(ctx)]), silentLogger());
    const socket = join(dir, 'api.sock');
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    api = new ApiClient(`unix://${socket}`);
  });

  afterAll(async () => {
    api?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await images?.close();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const ref = () => `${registry.host}/test/fake:1`;
  const xRegistryAuth = (username: string, password: string) =>
    Buffer.from(JSON.stringify({ username, password, serveraddress: registry.host })).toString('base64url');
  const pull = async (headers: Record<string, string> = {}) => {
    const lines: { status?: string; error?: string }[] = [];
    for await (const m of api.jsonStream<{ status?: string; error?: string }>('POST', '/images/create', {
      query: { fromImage: ref() },
      headers,
    }))
      lines.push(m);
    return lines;
  };

  it('refuses an anonymous pull as needing a login (401), and wrong X-Registry-Auth as refused', async () => {
    await expect(pull()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: /requires authentication/ });
    await expect(pull({ 'X-Registry-Auth': xRegistryAuth('bob', 'nope') })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: /refused the credentials/,
    });
  });

  it('pulls with the X-Registry-Auth the docker CLI sends, keeping nothing of it', async () => {
    const lines = await pull({ 'X-Registry-Auth': xRegistryAuth('bob', 'pw') });
    expect(lines.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref()}`);
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow();
    await images.remove(ref(), { force: true });
    await expect(pull()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it("checks docker login's POST /auth with the registry without keeping the credentials", async () => {
    const bad = { username: 'bob', password: 'nope', serveraddress: registry.host };
    await expect(api.json('POST', '/auth', { json: bad })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const ok = await api.json<{ Status: string }>('POST', '/auth', { json: { ...bad, password: 'pw' } });
    expect(ok.Status).toBe('Login Succeeded');
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow();
  });

  it("keeps tswarm's own login for this node's pulls until logout", async () => {
    await expect(
      api.json('POST', '/tswarm/login', { json: { Registry: registry.host, Username: 'bob' } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /username and a password/ });
    const r = await api.json<{ Status: string }>('POST', '/tswarm/login', {
      json: { Registry: registry.host, Username: 'bob', Password: 'pw' },
    });
    expect(r.Status).toBe('Login Succeeded');
    expect((await pull()).at(-1)?.status).toMatch(/^Status: /);
    await api.json('POST', '/tswarm/logout', { json: { Registry: registry.host } });
    await expect(api.json('POST', '/tswarm/logout', { json: { Registry: registry.host } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: /not logged in/,
    });
  });
});
