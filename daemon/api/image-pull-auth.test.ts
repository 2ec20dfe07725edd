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

/**
 * A pull's own credentials through the Engine API (the X-Registry-Auth the docker CLI sends),
 * against a fake registry that wants a bearer token: nothing of one caller's credentials may stay
 * behind for another's pull. Logins (POST /auth, /tswarm/login) are tswarm.test.ts's.
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
    server = createApiServer(new Router(imageStreamRoutes(ctx)), silentLogger());
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
});
