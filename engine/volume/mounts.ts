import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { TswarmError } from '../../lib/errors.js';
import { MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import { validateVolumeName, type LocalVolumeDriver } from './local-driver.js';

/** A mount as the runtime mounts it: named volumes are host directories by now. */
export interface HostMount {
  type: 'bind' | 'tmpfs';
  /** A host path for binds; empty for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
  tmpfsSizeBytes: number;
  tmpfsMode: number;
}

export interface ResolvedMounts {
  mounts: HostMount[];
  /** Host directories of the named volumes, by name: engine/runtime's CreateInput.volumePaths. */
  volumePaths: Record<string, string>;
}

function checkTarget(m: Mount): void {
  if (!isAbsolute(m.target)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `mount target "${m.target}" is not an absolute path. Give a path such as /data`,
    );
  }
}

async function resolveOne(m: Mount, volumes: LocalVolumeDriver): Promise<{ mount: HostMount; volume?: string }> {
  checkTarget(m);
  const base = { target: m.target, readOnly: m.readOnly, tmpfsSizeBytes: 0, tmpfsMode: 0 };
  switch (m.type) {
    case MountType.MOUNT_TYPE_TMPFS:
      return {
        mount: { ...base, type: 'tmpfs', source: '', tmpfsSizeBytes: m.tmpfsSizeBytes, tmpfsMode: m.tmpfsMode },
      };
    case MountType.MOUNT_TYPE_VOLUME: {
      if (m.source === '')
        throw new TswarmError(
          'INVALID_ARGUMENT',
          `the volume mount at ${m.target} has no volume name. Give one, as in -v NAME:${m.target}`,
        );
      validateVolumeName(m.source);
      const path = await volumes.mountpointFor(m.source, m.volumeLabels);
      return { mount: { ...base, type: 'bind', source: path }, volume: m.source };
    }
    case MountType.MOUNT_TYPE_BIND:
    case MountType.MOUNT_TYPE_UNSPECIFIED:
      return { mount: { ...base, type: 'bind', source: await checkBindSource(m.source) } };
    default:
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `unknown mount type ${String(m.type)} for ${m.target}. Use bind, volume or tmpfs`,
      );
  }
}

async function checkBindSource(source: string): Promise<string> {
  if (!isAbsolute(source)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `bind mount source "${source}" is not an absolute path. Give a host path such as /srv/data`,
    );
  }
  try {
    await stat(source);
  } catch {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `bind mount source path does not exist: ${source}. Create it on the host first`,
    );
  }
  return source;
}

/**
 * A container spec's mounts as host paths for the runtime: a named volume is created on first use
 * and mounted from its _data directory, a bind source must exist on the host (Swarm refuses a
 * missing one rather than creating it as Docker's -v did), tmpfs passes through.
 */
export async function resolveMounts(mounts: readonly Mount[], volumes: LocalVolumeDriver): Promise<ResolvedMounts> {
  const resolved: ResolvedMounts = { mounts: [], volumePaths: {} };
  for (const m of mounts) {
    const { mount, volume } = await resolveOne(m, volumes);
    resolved.mounts.push(mount);
    if (volume !== undefined) resolved.volumePaths[volume] = mount.source;
  }
  return resolved;
}
