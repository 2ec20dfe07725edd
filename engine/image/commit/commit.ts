import { CONFIG_BYTES_MAX, MEDIA } from '../oci.js';
import { sha256, type BlobStore } from '../store/blobs.js';
import type { LayerRecord } from '../store/image-index.js';
import type { LayerStore } from '../store/layers.js';
import type { PulledImage } from '../registry/pull.js';
import type { RunConfig } from './changes.js';
import { committedConfig, imageManifest, type ContainerSettings } from './commit-image.js';
import { storeUpperLayer } from './layer-blob.js';

export interface CommitRequest {
  /** The image the container was made from (its ID). */
  baseImage: { id: string; layers: LayerRecord[] };
  upperDir: string;
  container: ContainerSettings;
  overrides?: RunConfig;
  changes: readonly string[];
  createdBy: string;
  comment: string;
  author: string;
}

/**
 * Makes the image a commit adds: the container's changes as a new layer on top of its image's,
 * stored as a blob and unpacked (the image runs here at once), then the config and manifest.
 * The changes are checked first, so a bad --change writes nothing.
 */
export async function commitImage(
  deps: { blobs: BlobStore; layers: LayerStore },
  req: CommitRequest,
  now = new Date(),
): Promise<PulledImage> {
  const baseConfig = await deps.blobs.read(req.baseImage.id, CONFIG_BYTES_MAX);
  const configFor = (diffId: string) => committedConfig({ ...req, baseConfig, diffId, created: now });
  configFor(`sha256:${'0'.repeat(64)}`); // validates the changes before the layer is written
  const blob = await storeUpperLayer(req.upperDir, deps.blobs);
  const unpackedBytes = await deps.layers.unpack(blob.diffId, deps.blobs.path(blob.digest));
  const layer: LayerRecord = {
    digest: blob.digest,
    mediaType: MEDIA.ociLayerGzip,
    sizeBytes: blob.sizeBytes,
    diffId: blob.diffId,
    unpackedBytes,
  };
  const config = configFor(blob.diffId);
  const configDigest = sha256(config);
  await deps.blobs.write(configDigest, config);
  const layers = [...req.baseImage.layers, layer];
  const manifest = imageManifest(
    { digest: configDigest, size: config.length },
    layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.sizeBytes })),
  );
  const manifestDigest = sha256(manifest);
  await deps.blobs.write(manifestDigest, manifest);
  return { id: configDigest, repoDigest: '', manifestDigest, layers, createdAtMs: now.getTime() };
}
