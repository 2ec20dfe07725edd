import type { Mount } from '../../gen/tswarm/v1/objects.js';
import type { Volume } from '../../gen/tswarm/v1/engine.js';
import { LocalVolumeDriver } from './local-driver.js';
import { resolveMounts } from './mounts.js';
import type { VolumeProvider } from '../volume-contract.js';
import type { EngineEvents } from '../events-contract.js';

/**
 * The VolumeProvider the daemon gives the engine: the local driver's named volumes, with mounts
 * resolved to host paths. The engine decides what is in use (it knows the containers); the driver
 * is told only while a removal or prune the engine allowed is running.
 */
export class LocalVolumeProvider implements VolumeProvider {
  private allowed: (name: string) => boolean = () => false;

  private constructor(private store: LocalVolumeDriver) {}

  static async open(engineRoot: string, events?: EngineEvents): Promise<LocalVolumeProvider> {
    const holder: { self?: LocalVolumeProvider } = {};
    const store = await LocalVolumeDriver.open({
      engineRoot,
      usedBy: (name) => (holder.self?.allowed(name) ? [] : ['a container']),
      ...(events ? { events } : {}),
    });
    holder.self = new LocalVolumeProvider(store);
    return holder.self;
  }

  create(name: string, labels: Record<string, string>): Promise<Volume> {
    return this.store.create(name, labels);
  }

  list(): Promise<Volume[]> {
    return this.store.list();
  }

  inspect(name: string): Promise<Volume> {
    return this.store.inspect(name);
  }

  async remove(name: string, options: { force: boolean }): Promise<void> {
    this.allowed = (n) => n === name;
    try {
      await this.store.remove(name, { force: options.force });
    } finally {
      this.allowed = () => false;
    }
  }

  async prune(isInUse: (name: string) => boolean): Promise<{ deleted: string[]; reclaimedBytes: number }> {
    this.allowed = (n) => !isInUse(n);
    try {
      const r = await this.store.prune();
      return { deleted: r.deleted, reclaimedBytes: r.reclaimedBytes };
    } finally {
      this.allowed = () => false;
    }
  }

  async resolveMounts(mounts: readonly Mount[]): Promise<Record<string, string>> {
    return (await resolveMounts(mounts, this.store)).volumePaths;
  }
}
