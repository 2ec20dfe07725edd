/**
 * What `system df` says of images, worked out from their layers as dockerd does (moby
 * daemon/disk_usage.go): a layer is stored once whatever images share it, so the images' sizes
 * add up to more than the disk holds; LayersSize is what it holds.
 */

export interface ImageLayers {
  id: string;
  /** Unpacked bytes of each layer by diff ID (the store keeps one directory per diff ID). */
  layers: readonly { diffId: string; bytes: number }[];
}

export interface ImageUsage {
  id: string;
  /** Its layers' bytes, each distinct layer once. */
  sizeBytes: number;
  /** The bytes of its layers that another image uses too (Docker's SharedSize). */
  sharedBytes: number;
  /** Containers made from it, whatever their state. */
  containers: number;
}

export interface ImagesUsage {
  /** Every distinct layer once: what the images take on disk (Docker's LayersSize). */
  layersBytes: number;
  images: ImageUsage[];
}

/** Images' sizes, shared sizes and container counts; `containerImageIds` has one entry per container. */
export function imageDiskUsage(images: readonly ImageLayers[], containerImageIds: readonly string[]): ImagesUsage {
  const layerBytes = new Map<string, number>();
  const imagesOfLayer = new Map<string, number>();
  const distinct = images.map((image) => {
    const layers = new Map<string, number>();
    for (const l of image.layers) layers.set(l.diffId, Math.max(l.bytes, layers.get(l.diffId) ?? 0));
    for (const [diffId, bytes] of layers) {
      layerBytes.set(diffId, Math.max(bytes, layerBytes.get(diffId) ?? 0));
      imagesOfLayer.set(diffId, (imagesOfLayer.get(diffId) ?? 0) + 1);
    }
    return { id: image.id, diffIds: [...layers.keys()] };
  });
  const containers = new Map<string, number>();
  for (const id of containerImageIds) containers.set(id, (containers.get(id) ?? 0) + 1);
  const sum = (diffIds: readonly string[]) => diffIds.reduce((n, d) => n + (layerBytes.get(d) ?? 0), 0);
  return {
    layersBytes: sum([...layerBytes.keys()]),
    images: distinct.map(({ id, diffIds }) => ({
      id,
      sizeBytes: sum(diffIds),
      sharedBytes: sum(diffIds.filter((d) => (imagesOfLayer.get(d) ?? 0) > 1)),
      containers: containers.get(id) ?? 0,
    })),
  };
}
