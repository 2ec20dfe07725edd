import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../lib/api-client/client.js';
import { decodeRegistryAuth, encodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import type { FakeServer } from '../../engine/image/testing/fake-registry.js';
import type { ImageService } from '../../engine/image/images.js';
import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import { distributionRoutes } from './distribution.js';
import { startImageApi, type ImageApi } from './testing/image-api.js';
import { tswarmRoutes } from './tswarm.js';

/**
 * `GET /distribution/{name}/json` as the docker CLI calls it at `service create` (the image name
 * spans path segments), against a fake registry that wants Basic credentials; and the stored
 * login `tswarm service create --with-registry-auth` passes on.
 */
describe('GET /distribution/{name}/json and the stored login', () => {
  let registry: FakeServer;
  let images: ImageService;
  let api: ApiClient;
  let ref = '';
  let served: ImageApi | undefined;

  beforeAll(async () => {
    served = await startImageApi((ctx) => [...distributionRoutes(ctx), ...tswarmRoutes(ctx)], {
      scheme: 'basic',
      username: 'bob',
      password: 'pw',
    });
    ({ registry, images, api, ref } = served);
  });
  afterAll(() => served?.stop());

  const inspect = (name: string, headers: Record<string, string> = {}) =>
    api.json<Record<string, unknown>>('GET', `/distribution/${name}/json`, { headers });
  const bobs = () => ({ 'X-Registry-Auth': encodeRegistryAuth({ username: 'bob', password: 'pw' }, registry.host) });

  it('asks the registry with the caller’s X-Registry-Auth: the manifest’s descriptor and platform, nothing pulled', async () => {
    expect(await inspect(ref, bobs())).toEqual({
      Descriptor: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: served!.image.manifestDigest,
        size: served!.image.manifest.length,
      },
      Platforms: [{ architecture: 'amd64', os: 'linux' }],
    });
    // By digest too (what a pinned reference asks).
    const pinned = `${ref}@${served!.image.manifestDigest}`;
    expect(await inspect(pinned, bobs())).toMatchObject({ Descriptor: { digest: served!.image.manifestDigest } });
    expect(await images.list()).toEqual([]);
  });

  it('keeps the registry’s refusals: 401 without credentials, 404 for an unknown tag, 400 for an image ID', async () => {
    await expect(inspect(ref)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: /requires authentication/ });
    await expect(
      inspect(ref, { 'X-Registry-Auth': encodeRegistryAuth({ username: 'bob', password: 'no' }, registry.host) }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: /refused the credentials/ });
    await expect(inspect(`${registry.host}/test/fake:2`, bobs())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: /not found: the registry has no such manifest \(MANIFEST_UNKNOWN\)/,
    });
    await expect(inspect(`sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: /is an image ID/,
    });
  });

  it('falls back on this node’s stored login, and hands that login back to pass on', async () => {
    await expect(
      api.json('POST', `${TSWARM_API_PREFIX}/registry-auth`, { json: { Registry: registry.host } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: /no login for .* Run "tswarm login/ });
    await api.json('POST', `${TSWARM_API_PREFIX}/login`, {
      json: { Registry: registry.host, Username: 'bob', Password: 'pw' },
    });
    expect(await inspect(ref)).toMatchObject({ Descriptor: { mediaType: expect.any(String) } });
    const { RegistryAuth } = await api.json<{ RegistryAuth: string }>('POST', `${TSWARM_API_PREFIX}/registry-auth`, {
      json: { Registry: `http://${registry.host}` },
    });
    expect(decodeRegistryAuth(RegistryAuth)).toEqual({ username: 'bob', password: 'pw', serveraddress: registry.host });
  });
});
