import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { LayerProgress } from '../../gen/tswarm/v1/engine.js';
import type { ImageForRuntime } from '../image-contract.js';
import type { ImageService } from '../image/images.js';
import type { Credentials } from '../image/registry/auth.js';

/** How a missing image is pulled: progress, and the caller's own credentials (a service's, for its tasks only). */
export interface EnsurePull {
  onPull?: (p: LayerProgress) => void;
  credentials?: Credentials;
}

/**
 * The image, pulled first when the node does not have it (as `docker create` and `run` do, and
 * as Docker's swarm executor does: a digest-pinned image already here is not pulled again).
 * `onResolved` hears its ID before its files are read (the create's hold).
 */
export async function ensureImage(
  images: ImageService,
  log: Logger,
  ref: string,
  pull: EnsurePull = {},
  onResolved?: (imageId: string) => void,
): Promise<ImageForRuntime> {
  if (ref === '')
    throw new TswarmError(
      'INVALID_ARGUMENT',
      'the container has no image. Give one, e.g. "tswarm run busybox echo hello"',
    );
  try {
    return await images.forRuntime(ref, onResolved);
  } catch (err) {
    if (!(err instanceof TswarmError && err.code === 'NOT_FOUND')) throw err;
  }
  log.info({ image: ref }, 'image not on this node; pulling it');
  await images.pull(ref, {
    ...(pull.onPull ? { onProgress: pull.onPull } : {}),
    ...(pull.credentials ? { credentials: pull.credentials } : {}),
  });
  return images.forRuntime(ref, onResolved);
}
