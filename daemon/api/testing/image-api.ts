import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../../lib/api-client/client.js';
import { silentLogger } from '../../../lib/log.js';
import { ImageService } from '../../../engine/image/images.js';
import {
  makeFakeImage,
  startFakeRegistry,
  type FakeImage,
  type FakeRegistryOptions,
  type FakeServer,
} from '../../../engine/image/testing/fake-registry.js';
import { Router, type Route } from '../router.js';
import type { ApiContext } from '../routes.js';
import { createApiServer } from '../server.js';

export interface ImageApi {
  dir: string;
  registry: FakeServer;
  images: ImageService;
  api: ApiClient;
  /** The image the registry serves, as a reference. */
  ref: string;
  /** …and as the registry holds it (its manifest's digest). */
  image: FakeImage;
  stop(): Promise<void>;
}

/**
 * Routes that reach only a node's image service, served on a Unix socket in a temporary dir with
 * tswarm's own client, beside a fake registry on loopback (with `auth`, a private one).
 */
export async function startImageApi(
  routes: (ctx: ApiContext) => Route[],
  auth: NonNullable<FakeRegistryOptions['auth']>,
): Promise<ImageApi> {
  const dir = await mkdtemp(join(tmpdir(), 'tswarm-image-api-'));
  const image = makeFakeImage();
  const registry = await startFakeRegistry({ repository: 'test/fake', tag: '1', image, auth });
  const images = new ImageService({
    root: join(dir, 'images'),
    credentialsPath: join(dir, 'credentials.json'),
    insecureRegistries: [registry.host],
    registry: { attemptsMax: 1, backoffBaseMs: 5 },
  });
  // Only the image service is reached by these routes: nothing of a swarm or the rest of the engine.
  const server = createApiServer(new Router(routes({ engine: { images } } as unknown as ApiContext)), silentLogger());
  const socketPath = join(dir, 'api.sock');
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const api = new ApiClient(`unix://${socketPath}`);
  return {
    dir,
    registry,
    images,
    api,
    ref: `${registry.host}/test/fake:1`,
    image,
    stop: async () => {
      api.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await images.close();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
