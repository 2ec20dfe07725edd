import { malformed, unsupportedMediaType } from './errors.js';
import { isDigest } from './reference.js';

/** The OCI / Docker v2 documents the image code reads, and the bounds put on them. */
export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** containerd's limit for manifests and indexes: far above any real one, small enough to hold in memory. */
export const MANIFEST_BYTES_MAX = 4 * 1024 * 1024;
/** Image configs carry history and labels; real ones are kilobytes. */
export const CONFIG_BYTES_MAX = 8 * 1024 * 1024;
/** A layer above this is refused before download: it is almost certainly an error or an attack. */
export const LAYER_BYTES_MAX = 64 * 1024 * 1024 * 1024;
/** Layers per image (Docker's overlay driver stops at 128). */
export const LAYERS_MAX = 128;

const LAYER_TYPES = new Set<string>([
  MEDIA.ociLayer,
  MEDIA.ociLayerGzip,
  MEDIA.ociLayerZstd,
  MEDIA.dockerLayerGzip,
  MEDIA.dockerForeignLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar',
]);
const CONFIG_TYPES = new Set<string>([MEDIA.ociConfig, MEDIA.dockerConfig]);

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type ManifestDocument =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

export interface ImageConfigDocument {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
}

/** Parses a manifest or index; `contentType` is the HTTP Content-Type (or undefined from a layout). */
export function parseManifest(image: string, bytes: Buffer, contentType: string | undefined): ManifestDocument {
  const doc = parseJson(image, bytes, 'manifest') as Record<string, unknown>;
  const mediaType =
    (typeof doc['mediaType'] === 'string' ? doc['mediaType'] : contentType?.split(';')[0]?.trim()) ?? '';
  if (
    mediaType === MEDIA.ociIndex ||
    mediaType === MEDIA.dockerList ||
    (!mediaType && Array.isArray(doc['manifests']))
  ) {
    if (!Array.isArray(doc['manifests'])) throw malformed(image, 'the index has no manifests');
    return {
      kind: 'index',
      mediaType: mediaType || MEDIA.ociIndex,
      manifests: doc['manifests'].map((d) => descriptor(image, d)),
    };
  }
  const isManifest =
    mediaType === MEDIA.ociManifest ||
    mediaType === MEDIA.dockerManifest ||
    (!mediaType && doc['config'] !== undefined);
  if (!isManifest) throw unsupportedMediaType(image, mediaType || 'unknown');
  if (doc['schemaVersion'] !== 2) throw unsupportedMediaType(image, `schema version ${String(doc['schemaVersion'])}`);
  const config = descriptor(image, doc['config']);
  if (!CONFIG_TYPES.has(config.mediaType)) throw unsupportedMediaType(image, config.mediaType);
  if (!Array.isArray(doc['layers'])) throw malformed(image, 'the manifest has no layers list');
  if (doc['layers'].length > LAYERS_MAX) throw malformed(image, `more than ${LAYERS_MAX} layers`);
  const layers = doc['layers'].map((d) => descriptor(image, d));
  for (const layer of layers) if (!LAYER_TYPES.has(layer.mediaType)) throw unsupportedMediaType(image, layer.mediaType);
  return { kind: 'manifest', mediaType: mediaType || MEDIA.ociManifest, config, layers };
}

export function parseConfig(image: string, bytes: Buffer, layerCount: number): ImageConfigDocument {
  const doc = parseJson(image, bytes, 'image config') as ImageConfigDocument;
  const diffIds = doc.rootfs?.diff_ids;
  if (
    !Array.isArray(diffIds) ||
    diffIds.length !== layerCount ||
    !diffIds.every((d) => typeof d === 'string' && isDigest(d))
  ) {
    throw malformed(
      image,
      `the config's rootfs.diff_ids do not list one sha256 digest per layer (${layerCount} layers)`,
    );
  }
  return doc;
}

function parseJson(image: string, bytes: Buffer, what: string): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed(image, `the ${what} is not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw malformed(image, `the ${what} is not a JSON object`);
  return doc;
}

function descriptor(image: string, value: unknown): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || typeof d.size !== 'number') {
    throw malformed(image, 'a descriptor lacks mediaType, digest or size');
  }
  // Only sha256 is supported; the digest also names files on disk, so it must be exactly this shape.
  if (!isDigest(d.digest)) throw malformed(image, `unsupported or invalid digest "${d.digest}"`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw malformed(image, `invalid size for ${d.digest}`);
  return d as Descriptor;
}
