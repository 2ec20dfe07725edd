import { randomBytes } from 'node:crypto';
import { isAbsolute, posix } from 'node:path';
import { Mount, MountType } from '../../gen/tswarm/v1/objects.js';
import type { OciImageConfig } from '../image-contract.js';
import { LABEL_ANONYMOUS_VOLUME } from '../volume-contract.js';

/**
 * Anonymous volumes as Docker makes them: a volume mount without a name, or an image's VOLUME path
 * no mount covers, gets a random name and the anonymous label (so `rm -v` and prune know it).
 */

/** Anonymous volume mounts for the image's VOLUME paths that no mount of the spec covers. */
export function imageVolumeMounts(config: OciImageConfig, mounts: readonly Mount[]): Mount[] {
  const taken = new Set(mounts.map((m) => normalizeTarget(m.target)));
  return Object.keys(config.Volumes ?? {})
    .map(normalizeTarget)
    .filter((target) => target !== '/' && isAbsolute(target) && !taken.has(target))
    .sort()
    .map((target) => nameAnonymousVolume(Mount.fromPartial({ type: MountType.MOUNT_TYPE_VOLUME, source: '', target })));
}

function normalizeTarget(target: string): string {
  return posix.normalize(target).replace(/(.)\/+$/, '$1');
}

/** Docker names anonymous volumes with 64 random hex digits. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

export function nameAnonymousVolume(m: Mount): Mount {
  if (m.type !== MountType.MOUNT_TYPE_VOLUME || m.source !== '') return m;
  return { ...m, source: anonymousVolumeName(), volumeLabels: { ...m.volumeLabels, [LABEL_ANONYMOUS_VOLUME]: '' } };
}
