import type { Mount } from '../../gen/tswarm/v1/objects.js';
import type { Volume } from '../../gen/tswarm/v1/engine.js';
import { VolumeStore } from './local-driver.js';
import { resolveMounts } from './mounts.js';
import type { EngineVolumes } from '../volume-contract.js';

/**
 * The node's named volumes as the engine uses them. The engine decides what is in use (it knows
 * the containers); the store is told only while a removal or prune it allowed is running.
 */
export class EngineVolumeStore implements EngineVolumes {
  private allowed: (name: string) => boolean = () => false;

  private constructor(private store: VolumeStore) {}

  static async open(engineRoot: string): Promise<EngineVolumeStore> {
    const holder: { self?: EngineVolumeStore } = {};
    const store = await VolumeStore.open({
      engineRoot,
      usedBy: (name) => (holder.self?.allowed(name) ? [] : ['a container']),
    });
    holder.self = new EngineVolumeStore(store);
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
