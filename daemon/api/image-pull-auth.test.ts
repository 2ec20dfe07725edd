import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../lib/api-client/client.js';
import type { ImageService } from '../../engine/image/images.js';
import type { FakeServer } from '../../engine/image/testing/fake-registry.js';
import { startImageApi, type ImageApi } from './testing/image-api.js';
import { imageStreamRoutes } from './image-pull.js';

/**
 * A pull's own credentials through the Engine API (the X-Registry-Auth the docker CLI sends),
 * against a fake registry that wants a bearer token: nothing of one caller's credentials may stay
 * behind for another's pull. Logins (POST /auth, /tswarm/login) are tswarm.test.ts's.
 */
describe('registry credentials on the Engine API', () => {
  let dir = '';
  let registry: FakeServer;
  let images: ImageService;
  let api: ApiClient;

  let served: ImageApi | undefined;
  beforeAll(async () => {
    served = await startImageApi(imageStreamRoutes, { scheme: 'bearer', username: 'bob', password: 'pw' });
    ({ dir, registry, images, api } = served);
  });
  afterAll(() => served?.stop());

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
