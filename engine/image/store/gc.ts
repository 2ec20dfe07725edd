import { rm, stat } from 'node:fs/promises';
import type { BlobStore } from './blobs.js';
import type { IndexData } from './image-index.js';
import type { LayerStore } from './layers.js';

/** A partial download untouched this long belongs to no running pull: drop it. */
const STALE_INGEST_MS = 24 * 60 * 60_000;

export interface GcResult {
  blobsDeleted: number;
  layersDeleted: number;
  reclaimedBytes: number;
}

/**
 * Mark and sweep: every blob and layer directory no image in `data` refers to, and not pinned
 * by a pull in progress, is deleted. The caller holds the index lock, so no image appears
 * between the mark and the sweep.
 */
export async function collectGarbage(
  data: Readonly<IndexData>,
  blobs: BlobStore,
  layers: LayerStore,
  pinned: (digest: string) => boolean,
  layerBytes: ReadonlyMap<string, number>,
): Promise<GcResult> {
  const liveBlobs = new Set<string>();
  const liveLayers = new Set<string>();
  for (const image of Object.values(data.images)) {
    liveBlobs.add(image.id);
    liveBlobs.add(image.manifestDigest);
    for (const l of image.layers) {
      liveBlobs.add(l.digest);
      liveLayers.add(l.diffId);
    }
  }
  const result: GcResult = { blobsDeleted: 0, layersDeleted: 0, reclaimedBytes: 0 };
  for (const digest of await blobs.list()) {
    if (liveBlobs.has(digest) || pinned(digest)) continue;
    result.reclaimedBytes += await blobs.remove(digest);
    result.blobsDeleted++;
  }
  for (const diffId of await layers.list()) {
    if (liveLayers.has(diffId) || pinned(diffId) || layers.isBusy(diffId)) continue;
    await layers.remove(diffId);
    result.reclaimedBytes += layerBytes.get(diffId) ?? 0;
    result.layersDeleted++;
  }
  await removeStaleIngest(blobs);
  return result;
}

async function removeStaleIngest(blobs: BlobStore): Promise<void> {
  const now = Date.now();
  for (const path of await blobs.listIngest()) {
    try {
      if (now - (await stat(path)).mtimeMs > STALE_INGEST_MS) await rm(path, { force: true });
    } catch {
      // removed meanwhile
    }
  }
}
