import type { LayerProgress } from '../../../gen/tswarm/v1/engine.js';
import { damagedLayer, digestMismatch, ImageError, malformed, tooLarge } from '../errors.js';
import {
  CONFIG_BYTES_MAX,
  LAYER_BYTES_MAX,
  MANIFEST_ACCEPT,
  MANIFEST_BYTES_MAX,
  parseConfig,
  parseManifest,
  type Descriptor,
  type ImageConfigDocument,
  type ManifestDocument,
  type Platform,
} from '../oci.js';
import { selectPlatform } from '../platform.js';
import { formatReference, type ImageReference } from '../reference.js';
import { BlobDigestError, sha256, type BlobStore } from '../store/blobs.js';
import type { LayerRecord } from '../store/image-index.js';
import { LayerDiffIdError, type LayerStore } from '../store/layers.js';
import { downloadBlob } from './blob-download.js';
import { responseHeader, type RegistryClient, type Target } from './client.js';
import type { Credentials } from './auth.js';

export type OnProgress = (progress: LayerProgress) => void;

export interface PullDeps {
  client: RegistryClient;
  blobs: BlobStore;
  layers: LayerStore;
  /** Marks digests as in use by this pull, so garbage collection leaves them alone. */
  pin: (digests: string[]) => void;
}

export interface PulledImage {
  id: string;
  /** The digest the reference resolved to (the index's, for a multi-platform image). */
  repoDigest: string;
  manifestDigest: string;
  layers: LayerRecord[];
  createdAtMs: number;
}

/** Downloads and unpacks at most this many layers at once (Docker's default). */
const LAYER_CONCURRENCY = 3;
/** At most one "downloading" event per layer per interval: a daemon streams these to a terminal. */
const PROGRESS_INTERVAL_MS = 100;
/** An index pointing at another index: real images nest at most once. */
const INDEX_DEPTH_MAX = 2;

/** Pulls `ref` for `platform`: manifest (through an index if any), config, then every layer. */
export async function pullImage(
  deps: PullDeps,
  ref: ImageReference,
  platform: Platform,
  onProgress: OnProgress,
  credentials?: Credentials,
): Promise<PulledImage> {
  const t = targetOf(ref, credentials);
  const top = await fetchManifest(deps.client, t, ref.digest ?? ref.tag ?? 'latest', ref.digest);
  let { doc, digest: manifestDigest, bytes: manifestBytes } = top;
  for (let depth = 0; doc.kind === 'index'; depth++) {
    if (depth >= INDEX_DEPTH_MAX) throw malformed(t.image, 'image indexes nest too deeply');
    const chosen = selectPlatform(t.image, doc.manifests, platform);
    const next = await fetchManifest(deps.client, t, chosen.digest, chosen.digest);
    ({ doc, digest: manifestDigest, bytes: manifestBytes } = next);
  }
  deps.pin([manifestDigest, doc.config.digest]);
  const configBytes = await fetchConfig(deps, t, doc.config);
  const config = parseConfig(t.image, configBytes, doc.layers.length);
  const diffIds = config.rootfs?.diff_ids ?? [];
  deps.pin([...doc.layers.map((l) => l.digest), ...diffIds]);
  await deps.blobs.write(manifestDigest, manifestBytes);
  for (const layer of doc.layers)
    onProgress({ digest: layer.digest, status: 'waiting', currentBytes: 0, totalBytes: layer.size });
  const layers = await mapBounded(doc.layers, LAYER_CONCURRENCY, (layer, i) =>
    pullLayer(deps, t, layer, diffIds[i] ?? '', onProgress),
  );
  return { id: doc.config.digest, repoDigest: top.digest, manifestDigest, layers, createdAtMs: createdMs(config) };
}

/** What requests for `ref` are about: the image errors name, the repository auth scopes name, whose credentials. */
export function targetOf(ref: ImageReference, credentials?: Credentials): Target {
  return {
    image: formatReference(ref),
    registry: ref.registry,
    repository: ref.repository,
    ...(credentials ? { credentials } : {}),
  };
}

/**
 * A manifest or index by tag or digest, with the digest of its bytes: a digest reference is
 * checked against the bytes, a tag against the digest the registry claims (Docker-Content-Digest).
 */
export async function fetchManifest(
  client: RegistryClient,
  t: Target,
  reference: string,
  expectedDigest: string | undefined,
): Promise<{ bytes: Buffer; digest: string; doc: ManifestDocument }> {
  const { bytes, res } = await client.fetchSmall(
    t,
    `/manifests/${reference}`,
    MANIFEST_ACCEPT,
    MANIFEST_BYTES_MAX,
    'manifest',
  );
  const digest = sha256(bytes);
  const claimed = responseHeader(res, 'docker-content-digest');
  if (expectedDigest && digest !== expectedDigest) throw digestMismatch(t.image, expectedDigest, digest);
  if (!expectedDigest && claimed?.startsWith('sha256:') && claimed !== digest)
    throw digestMismatch(t.image, claimed, digest);
  return { bytes, digest, doc: parseManifest(t.image, bytes, responseHeader(res, 'content-type')) };
}

async function fetchConfig(deps: PullDeps, t: Target, desc: Descriptor): Promise<Buffer> {
  if (desc.size > CONFIG_BYTES_MAX) throw tooLarge(t.image, 'the image config', CONFIG_BYTES_MAX);
  if (await deps.blobs.has(desc.digest)) return deps.blobs.read(desc.digest, CONFIG_BYTES_MAX);
  const { bytes } = await deps.client.fetchSmall(
    t,
    `/blobs/${desc.digest}`,
    undefined,
    CONFIG_BYTES_MAX,
    'image config',
  );
  try {
    await deps.blobs.write(desc.digest, bytes);
  } catch (err) {
    if (err instanceof BlobDigestError) throw digestMismatch(t.image, desc.digest, err.actual);
    throw err;
  }
  return bytes;
}

async function pullLayer(
  deps: PullDeps,
  t: Target,
  layer: Descriptor,
  diffId: string,
  onProgress: OnProgress,
): Promise<LayerRecord> {
  const record = { digest: layer.digest, mediaType: layer.mediaType, sizeBytes: layer.size, diffId, unpackedBytes: 0 };
  const report = (status: string, currentBytes = 0) =>
    onProgress({ digest: layer.digest, status, currentBytes, totalBytes: layer.size });
  if (layer.size > LAYER_BYTES_MAX) throw tooLarge(t.image, `layer ${layer.digest}`, LAYER_BYTES_MAX);
  if (await deps.layers.has(diffId)) {
    report('already exists', layer.size);
    return record;
  }
  let lastMs = 0;
  const came = await deps.blobs.fetchOnce(
    layer.digest,
    async (partial) => {
      await downloadBlob(deps.client, t, layer, partial, (current, total) => {
        const now = Date.now();
        if (current !== total && now - lastMs < PROGRESS_INTERVAL_MS) return;
        lastMs = now;
        report('downloading', current);
      });
      report('verifying', layer.size);
    },
    () => report('waiting'),
  );
  // Only a blob stored by an earlier pull can have been damaged since it was verified.
  const stored = came === 'stored';
  report('extracting', layer.size);
  try {
    record.unpackedBytes = await deps.layers.unpack(diffId, deps.blobs.path(layer.digest));
  } catch (err) {
    // A blob stored by an earlier pull was verified then; failing now means it was damaged since.
    if (stored) throw damagedLayer(t.image, layer.digest, err);
    if (err instanceof LayerDiffIdError)
      throw malformed(
        t.image,
        `layer ${layer.digest} unpacks to ${err.actual}, not the ${err.expected} its config names`,
      );
    throw new ImageError(
      'INTERNAL',
      `cannot unpack layer ${layer.digest} of ${t.image}: ${(err as Error).message}`,
      false,
      { cause: err },
    );
  }
  report('done', layer.size);
  return record;
}

function createdMs(config: ImageConfigDocument): number {
  const ms = config.created ? Date.parse(config.created) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

/** Maps with at most `limit` calls in flight; the first failure fails the whole (others finish). */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
