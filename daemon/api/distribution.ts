import { TswarmError } from '../../lib/errors.js';
import { isDigest } from '../../engine/image/reference.js';
import { credentialsFromAuth, decodeRegistryAuth } from '../../engine/image/registry-auth-header.js';
import type { DistributionInspect } from '../../engine/image/registry/distribution.js';
import { imageName } from './images.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';

/** Docker's `DistributionInspect` (moby's swagger): an OCI descriptor and OCI platforms, in their lowercase keys. */
export function dockerDistributionInspect(d: DistributionInspect): Record<string, unknown> {
  return {
    Descriptor: { mediaType: d.descriptor.mediaType, digest: d.descriptor.digest, size: d.descriptor.size },
    Platforms: d.platforms.map((p) => ({
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
    })),
  };
}

/**
 * `GET /distribution/{name}/json`: what the registry says an image reference names now — the
 * digest the docker CLI (and tswarm's) pins a service's image to at create, so every task runs
 * the same image. Asks the registry with the caller's X-Registry-Auth, else this node's stored
 * login; the registry's refusals keep their status (no such image 404, a login needed 401).
 */
export function distributionRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/distribution/{name*}/json',
      handler: async (req, reply) => {
        const name = imageName(req.params.name);
        if (isDigest(name))
          throw new TswarmError(
            'INVALID_ARGUMENT',
            `${name} is an image ID, which names no manifest in a registry. Give NAME[:TAG] or NAME@sha256:DIGEST`,
          );
        const credentials = credentialsFromAuth(decodeRegistryAuth(req.headers['x-registry-auth']));
        const found = await ctx.engine.images.distribution(name, credentials ? { credentials } : {});
        reply.json(200, dockerDistributionInspect(found));
      },
    },
  ];
}
