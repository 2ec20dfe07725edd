import type { Volume } from '../gen/tswarm/v1/engine.js';
import { MountType, type Mount } from '../gen/tswarm/v1/objects.js';
import type { ContainerSummary } from '../gen/tswarm/v1/engine.js';

/**
 * The meeting point of the engine and engine/volume, shared by both: what the engine needs from
 * the volume part (a VolumeProvider), named volumes as host directories. Which containers
 * use a volume is the engine's knowledge (their mounts), so the volume part needs no container
 * bookkeeping: the engine passes `isInUse` where it matters and fills Volume.used_by itself.
 */
export interface VolumeProvider {
  /** Creates the volume; creating one that exists with the same labels returns it (as Docker). */
  create(name: string, labels: Record<string, string>): Promise<Volume>;
  list(): Promise<Volume[]>;
  inspect(name: string): Promise<Volume>;
  /** `force` tolerates a volume that does not exist; the engine refuses volumes in use first. */
  remove(name: string, options: { force: boolean }): Promise<void>;
  /** Removes every volume for which isInUse is false. */
  prune(isInUse: (name: string) => boolean): Promise<{ deleted: string[]; reclaimedBytes: number }>;
  /** Host paths of the named volumes the mounts use, creating missing ones as `docker run` does. */
  resolveMounts(mounts: readonly Mount[]): Promise<Record<string, string>>;
}

/** Docker's label (since 23.0) on a volume made for a `-v /path` without a name. */
export { LABEL_ANONYMOUS_VOLUME } from '../lib/container-spec-checks.js';

/** The named volumes a container's mounts use. */
export function volumeNames(mounts: readonly Mount[]): string[] {
  return mounts.filter((m) => m.type === MountType.MOUNT_TYPE_VOLUME).map((m) => m.source);
}

/** Volume name → the containers (names) that use it, from their mounts. */
export function volumeUsers(
  containers: readonly { summary: ContainerSummary; mounts: readonly Mount[] }[],
): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const c of containers) {
    for (const name of volumeNames(c.mounts)) users.set(name, [...(users.get(name) ?? []), c.summary.name]);
  }
  return users;
}
