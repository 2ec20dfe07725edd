import type { Logger } from '../../lib/log.js';
import { treeBytes, walkBudget, type WalkBudget } from '../../lib/tree-bytes.js';
import type { ContainerSummary, ImageSummary, Volume } from '../../gen/tswarm/v1/engine.js';
import type { ImageService } from '../image/images.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { LABEL_IMAGE_ID } from './labels.js';
import { imageDiskUsage, type ImageUsage } from './image-usage.js';
import type { VolumeCommands } from './volume-commands.js';

/**
 * `system df`: what the node's images, containers and volumes take on disk, measured (layer sizes
 * from the image store, container changes from their overlay upper dirs, volumes from their
 * directories). As dockerd, one measurement of each kind runs at a time and concurrent asks share
 * it, and each kind's directory walks share one budget: past it, the sizes not yet fully walked
 * are lower bounds, said in the log.
 */

/** Entries one kind's walks may stat: a million files is minutes on a slow disk, seconds on a fast one. */
const WALK_ENTRIES_MAX = 1_000_000;
/** How long one kind's walks may take before their sizes are reported as they stand. */
const WALK_TIME_MS_MAX = 20_000;

export interface ImagesDiskUsage {
  layersBytes: number;
  images: (ImageUsage & { image: ImageSummary })[];
}

export interface ContainerDiskUsage {
  container: ContainerSummary;
  /** What it changed over its image (Docker's SizeRw). */
  sizeRwBytes: number;
  /** Its image and its changes (Docker's SizeRootFs). */
  sizeRootFsBytes: number;
}

export interface VolumeDiskUsage {
  volume: Volume;
  sizeBytes: number;
  /** Containers that mount it, whatever their state (Docker's UsageData.RefCount). */
  refCount: number;
}

export class DiskUsage {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly imageService: ImageService,
    private readonly volumeCommands: VolumeCommands,
    private readonly log: Logger,
  ) {}

  images(): Promise<ImagesDiskUsage> {
    return this.shared('images', (budget) => this.measureImages(budget));
  }

  containers(): Promise<ContainerDiskUsage[]> {
    return this.shared('containers', (budget) => this.measureContainers(budget));
  }

  volumes(): Promise<VolumeDiskUsage[]> {
    return this.shared('volumes', (budget) => this.measureVolumes(budget));
  }

  /** One measurement of a kind at a time; whoever asks meanwhile gets the one under way. */
  private shared<T>(kind: string, measure: (budget: WalkBudget) => Promise<T>): Promise<T> {
    const running = this.inFlight.get(kind);
    if (running) return running as Promise<T>;
    const budget = walkBudget(WALK_ENTRIES_MAX, WALK_TIME_MS_MAX);
    const work = measure(budget).finally(() => {
      this.inFlight.delete(kind);
      if (budget.entriesLeft <= 0 || Date.now() > budget.deadlineMs)
        this.log.warn(
          { kind, entriesMax: WALK_ENTRIES_MAX, timeMsMax: WALK_TIME_MS_MAX },
          'system df: the size walk hit its bound; some sizes are lower bounds',
        );
    });
    this.inFlight.set(kind, work);
    return work;
  }

  private async bytesOf(dir: string, budget: WalkBudget): Promise<number> {
    return (await treeBytes(dir, budget)).bytes;
  }

  /**
   * The index's layer sizes; a layer whose size it does not know (0) is measured in its
   * directory, once however many images share it.
   */
  private async measureImages(budget: WalkBudget): Promise<ImagesDiskUsage> {
    const listed = await this.imageService.layerUsage();
    const measured = new Map<string, number>();
    for (const { layers } of listed)
      for (const l of layers)
        if (l.bytes === 0 && !measured.has(l.diffId)) measured.set(l.diffId, await this.bytesOf(l.dir, budget));
    const usage = imageDiskUsage(
      listed.map(({ image, layers }) => ({
        id: image.id,
        layers: layers.map((l) => ({ diffId: l.diffId, bytes: l.bytes || (measured.get(l.diffId) ?? 0) })),
      })),
      this.runtime.list({ all: true }).map((c) => c.labels[LABEL_IMAGE_ID] ?? ''),
    );
    return {
      layersBytes: usage.layersBytes,
      images: usage.images.map((u, i) => ({ ...u, image: listed[i]!.image })),
    };
  }

  /** Each container's upper dir walked; its image's size from the index, which costs no walk. */
  private async measureContainers(budget: WalkBudget): Promise<ContainerDiskUsage[]> {
    const listed = await this.imageService.layerUsage();
    const imageBytes = new Map(
      imageDiskUsage(
        listed.map(({ image, layers }) => ({ id: image.id, layers })),
        [],
      ).images.map((i) => [i.id, i.sizeBytes]),
    );
    const out: ContainerDiskUsage[] = [];
    for (const container of this.runtime.list({ all: true })) {
      let dir: string;
      try {
        dir = this.runtime.changesDir(container.id);
      } catch {
        continue; // removed since the list
      }
      const sizeRwBytes = await this.bytesOf(dir, budget);
      const image = imageBytes.get(container.labels[LABEL_IMAGE_ID] ?? '') ?? 0;
      out.push({ container, sizeRwBytes, sizeRootFsBytes: sizeRwBytes + image });
    }
    return out;
  }

  /** Each volume's directory walked; a node without volumes has none. */
  private async measureVolumes(budget: WalkBudget): Promise<VolumeDiskUsage[]> {
    if (!this.volumeCommands.available) return [];
    const out: VolumeDiskUsage[] = [];
    for (const volume of await this.volumeCommands.list())
      out.push({ volume, sizeBytes: await this.bytesOf(volume.mountpoint, budget), refCount: volume.usedBy.length });
    return out;
  }
}
