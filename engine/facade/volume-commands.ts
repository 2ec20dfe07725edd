import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Volume } from '../../gen/tswarm/v1/engine.js';
import { MountType, type Mount } from '../../gen/tswarm/v1/objects.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { LABEL_ANONYMOUS_VOLUME, volumeNames, volumeUsers, type VolumeProvider } from '../volume-contract.js';
import { anonymousVolumeName } from './anonymous-volumes.js';

/**
 * The engine's volume commands: volumes with their users filled in from the containers' mounts
 * (and the creates under way), removal refused while a volume is in use, and a container's
 * anonymous volumes removed with it. Without a VolumeProvider the node has no volumes.
 */
export class VolumeCommands {
  constructor(
    private readonly volumes: VolumeProvider | undefined,
    private readonly runtime: ContainerRuntime,
    /** Volumes of the containers being created, which have no record yet to show them in use. */
    private readonly creating: () => Iterable<{ volumes: string[] }>,
    private readonly log: Logger,
  ) {}

  get available(): boolean {
    return this.volumes !== undefined;
  }

  /** Host paths of the named volumes the mounts use, creating missing ones. */
  async paths(mounts: readonly Mount[]): Promise<Record<string, string>> {
    if (volumeNames(mounts).length === 0) return {};
    if (!this.volumes)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'volumes are not available on this node. Use a bind mount (-v /host/path:/path) or tmpfs instead',
      );
    return this.volumes.resolveMounts(mounts);
  }

  async removeAnonymous(mounts: readonly Mount[]): Promise<void> {
    const anonymous = mounts
      .filter((m) => m.type === MountType.MOUNT_TYPE_VOLUME && m.volumeLabels[LABEL_ANONYMOUS_VOLUME] !== undefined)
      .map((m) => m.source);
    if (anonymous.length === 0 || !this.volumes) return;
    const users = this.users();
    for (const name of anonymous) {
      // Another container given the same volume (--volumes-from style, or by its name) keeps it.
      if (users.has(name)) continue;
      // The volume's own label decides, not the mount's (which a client wrote).
      const stored = await this.volumes.inspect(name).catch(() => undefined);
      if (stored?.labels[LABEL_ANONYMOUS_VOLUME] === undefined) continue;
      await this.volumes
        .remove(name, { force: true })
        .catch((err: unknown) => this.log.warn({ err, volume: name }, 'removing an anonymous volume failed'));
    }
  }

  private require(): VolumeProvider {
    if (!this.volumes)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'volumes are not available on this node. Use bind mounts, or a daemon with volume support',
      );
    return this.volumes;
  }

  private users(): Map<string, string[]> {
    const containers = this.runtime
      .list({ all: true })
      .map((summary) => ({ summary, mounts: this.runtime.inspect(summary.id).config.spec?.mounts ?? [] }));
    const users = volumeUsers(containers);
    for (const hold of this.creating())
      for (const name of hold.volumes) users.set(name, [...(users.get(name) ?? []), 'a container being created']);
    return users;
  }

  private withUsers(v: Volume, users = this.users()): Volume {
    return { ...v, usedBy: users.get(v.name) ?? [] };
  }

  async create(name: string, labels: Record<string, string>): Promise<Volume> {
    return this.withUsers(await this.require().create(name || anonymousVolumeName(), labels));
  }

  async list(): Promise<Volume[]> {
    const users = this.users();
    return (await this.require().list()).map((v) => this.withUsers(v, users));
  }

  async inspect(name: string): Promise<Volume> {
    return this.withUsers(await this.require().inspect(name));
  }

  /** A volume in use is kept even with force, as Docker does: force only tolerates a missing one. */
  async remove(name: string, force: boolean): Promise<void> {
    const volumes = this.require();
    const users = this.users().get(name);
    if (users)
      throw new TswarmError(
        'CONFLICT',
        `volume ${name} is in use by ${users.join(', ')}. Remove those containers first`,
      );
    await volumes.remove(name, { force });
  }

  /** Unused anonymous volumes; with `all`, every unused volume (Docker 23's `volume prune [-a]`). */
  async prune(options: { all?: boolean } = {}): Promise<{ deleted: string[]; reclaimedBytes: number }> {
    const volumes = this.require();
    // Anonymous ones are an allow-list taken now: a volume made after it is kept, whatever it is.
    const anonymous = new Set(
      (await volumes.list()).filter((v) => v.labels[LABEL_ANONYMOUS_VOLUME] !== undefined).map((v) => v.name),
    );
    // Users are asked per volume while the prune runs, so a container created meanwhile counts.
    return volumes.prune((name) => this.users().has(name) || (!options.all && !anonymous.has(name)));
  }
}
