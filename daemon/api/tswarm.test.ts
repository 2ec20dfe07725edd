import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../lib/api-client/client.js';
import type { FakeServer } from '../../engine/image/testing/fake-registry.js';
import { startImageApi, type ImageApi } from './testing/image-api.js';
import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import { tswarmRoutes } from './tswarm.js';

/**
 * tswarm's login routes over a real socket, with tswarm's own client, against the image service
 * of a node and a registry on loopback that asks for Basic credentials.
 */
describe('POST /tswarm/login, /tswarm/logout and Docker’s /auth', () => {
  let dir: string;
  let registry: FakeServer;
  let api: ApiClient;
  const login = (body: object) => api.json<{ Status: string }>('POST', `${TSWARM_API_PREFIX}/login`, { json: body });
  const logout = (registryHost: string) =>
    api.json('POST', `${TSWARM_API_PREFIX}/logout`, { json: { Registry: registryHost } });

  let served: ImageApi | undefined;
  beforeAll(async () => {
    served = await startImageApi(tswarmRoutes, { scheme: 'basic', username: 'alice', password: 's3cret' });
    ({ dir, registry, api } = served);
  });
  afterAll(() => served?.stop());

  it('checks the credentials with the registry before keeping them; logout forgets them once', async () => {
    const refused = await login({ Registry: registry.host, Username: 'alice', Password: 'wrong' }).catch(
      (err: unknown) => err,
    );
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(String(refused)).toMatch(/login to .* failed: the registry refused the credentials \(HTTP 401\)/);
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow();
    expect(await login({ Registry: registry.host, Username: 'alice', Password: 's3cret' })).toEqual({
      Status: 'Login Succeeded',
    });
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect(await logout(registry.host)).toBeUndefined();
    await expect(logout(registry.host)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `not logged in to ${registry.host}. Nothing to do`,
    });
  });

  it('refuses a body without a registry, a username or a password', async () => {
    await expect(login({ Registry: ' ', Username: 'alice', Password: 's3cret' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'Registry is empty. Name the registry (host[:port])',
    });
    await expect(login({ Registry: registry.host, Username: 'alice' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'login needs a username and a password. Give -u USER and --password-stdin',
    });
    await expect(login({ Registry: registry.host, Username: 7, Password: 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(api.json('POST', `${TSWARM_API_PREFIX}/logout`, { json: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('Docker’s /auth checks the credentials and keeps nothing: its client keeps them', async () => {
    const auth = (password: string) =>
      api.json('POST', '/auth', { json: { username: 'alice', password, serveraddress: registry.host } });
    expect(await auth('s3cret')).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
    await expect(auth('wrong')).rejects.toThrow(/refused the credentials/);
    await expect(logout(registry.host)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
