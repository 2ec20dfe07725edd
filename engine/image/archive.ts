import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { ImageError, malformed } from './errors.js';
import {
  CONFIG_BYTES_MAX,
  MANIFEST_BYTES_MAX,
  MEDIA,
  parseConfig,
  parseManifest,
  type Descriptor,
  type Platform,
} from './oci.js';
import { selectPlatform } from './platform.js';
import { formatReference, parseReference } from './reference.js';
import { BlobDigestError, sha256, type BlobStore } from './store/blobs.js';
import type { LayerRecord } from './store/image-index.js';
import { forEachTarEntry, type ReadEntry } from './store/tar-stream.js';

/** An image read from an archive, its blobs already in the store, its layers not yet unpacked. */
export interface ArchiveImage {
  id: string;
  manifestDigest: string;
  /** Normalized references the archive names the image by (may be empty). */
  references: string[];
  layers: LayerRecord[];
  createdAtMs: number;
}

/** The only files of an archive held in memory; everything else streams into the blob store. */
const METADATA_FILES = new Set(['manifest.json', 'repositories', 'index.json', 'oci-layout']);
const METADATA_BYTES_MAX = 4 * 1024 * 1024;
const ENTRIES_MAX = 100_000;
const IMAGES_MAX = 1000;
const WHAT = 'the archive';

interface ArchiveFiles {
  metadata: Map<string, Buffer>;
  /** Archive path → digest of its content (symlinks and hard links resolved at the end). */
  blobs: Map<string, string>;
  links: Map<string, string>;
}

/**
 * Reads a `docker save` archive (manifest.json) or an OCI image layout archive (index.json),
 * plain or gzip/zstd-compressed, in one streaming pass: every file but the small metadata goes
 * straight into the blob store under its sha256 (verified against its name under blobs/sha256/),
 * so a multi-gigabyte archive never sits in memory.
 */
export async function readArchive(
  source: AsyncIterable<Uint8Array>,
  blobs: BlobStore,
  platform: Platform,
): Promise<ArchiveImage[]> {
  const files: ArchiveFiles = { metadata: new Map(), blobs: new Map(), links: new Map() };
  let entries = 0;
  try {
    await forEachTarEntry(source, async (entry) => {
      if (++entries > ENTRIES_MAX) throw malformed(WHAT, `more than ${ENTRIES_MAX} entries`);
      await takeEntry(entry, files, blobs);
    });
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if (err instanceof BlobDigestError)
      throw malformed(WHAT, `${err.expected} holds content with digest ${err.actual}`);
    throw malformed(WHAT, `it is not a readable tar archive (${(err as Error).message})`);
  }
  const manifest = files.metadata.get('manifest.json');
  if (manifest) return dockerImages(manifest, files, blobs);
  const index = files.metadata.get('index.json');
  if (index) return ociImages(index, files, blobs, platform);
  throw malformed(WHAT, 'it has neither manifest.json (docker save) nor index.json (OCI layout)');
}

async function takeEntry(entry: ReadEntry, files: ArchiveFiles, blobs: BlobStore): Promise<void> {
  const path = posix.normalize(entry.path.replace(/^(\.\/)+/, ''));
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const target =
      entry.type === 'Link' ? (entry.linkpath ?? '') : posix.join(posix.dirname(path), entry.linkpath ?? '');
    files.links.set(path, posix.normalize(target.replace(/^(\.\/)+/, '')));
    return;
  }
  if (entry.type !== 'File' && entry.type !== 'OldFile') return;
  if (METADATA_FILES.has(path)) {
    if (entry.size > METADATA_BYTES_MAX) throw malformed(WHAT, `${path} is larger than ${METADATA_BYTES_MAX} bytes`);
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    files.metadata.set(path, Buffer.concat(chunks));
    return;
  }
  const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
  const { digest } = await blobs.ingest(entry as AsyncIterable<Buffer>, named ? `sha256:${named[1]}` : undefined);
  files.blobs.set(path, digest);
}

function digestAt(files: ArchiveFiles, path: string): string {
  let p = posix.normalize(path.replace(/^(\.\/)+/, ''));
  for (let hops = 0; hops < 16 && files.links.has(p); hops++) p = files.links.get(p) ?? p;
  const digest = files.blobs.get(p);
  if (!digest) throw malformed(WHAT, `it refers to ${path}, which it does not contain`);
  return digest;
}

function json<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw malformed(WHAT, `${what} is not valid JSON`);
  }
}

async function dockerImages(manifestJson: Buffer, files: ArchiveFiles, blobs: BlobStore): Promise<ArchiveImage[]> {
  const entries = json<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>(
    manifestJson,
    'manifest.json',
  );
  if (!Array.isArray(entries) || entries.length > IMAGES_MAX)
    throw malformed(WHAT, 'manifest.json is not a list of images');
  const images: ArchiveImage[] = [];
  for (const e of entries) {
    if (!e.Config || !Array.isArray(e.Layers)) throw malformed(WHAT, 'a manifest.json entry lacks Config or Layers');
    const configDigest = digestAt(files, e.Config);
    const configBytes = await blobs.read(configDigest, CONFIG_BYTES_MAX);
    const config = parseConfig(WHAT, configBytes, e.Layers.length);
    const layers: LayerRecord[] = [];
    for (const [i, path] of e.Layers.entries()) {
      const digest = digestAt(files, path);
      const mediaType = (await isGzip(blobs.path(digest))) ? MEDIA.ociLayerGzip : MEDIA.ociLayer;
      layers.push({
        digest,
        mediaType,
        sizeBytes: (await blobs.sizeOf(digest)) ?? 0,
        diffId: config.rootfs?.diff_ids?.[i] ?? '',
        unpackedBytes: 0,
      });
    }
    const manifestDigest = await storeManifest(blobs, configDigest, configBytes.length, layers);
    const references = (e.RepoTags ?? []).map((tag) => formatReference(parseReference(tag)));
    images.push({ id: configDigest, manifestDigest, references, layers, createdAtMs: createdMs(config.created) });
  }
  return images;
}

/** docker save has no registry manifest: write the OCI manifest that describes what it holds. */
async function storeManifest(
  blobs: BlobStore,
  configDigest: string,
  configSize: number,
  layers: LayerRecord[],
): Promise<string> {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.sizeBytes })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  await blobs.write(digest, bytes);
  return digest;
}

async function ociImages(
  indexJson: Buffer,
  files: ArchiveFiles,
  blobs: BlobStore,
  platform: Platform,
): Promise<ArchiveImage[]> {
  const index = parseManifest(WHAT, indexJson, MEDIA.ociIndex);
  if (index.kind !== 'index' || index.manifests.length > IMAGES_MAX)
    throw malformed(WHAT, 'index.json is not an image index');
  const images: ArchiveImage[] = [];
  for (const top of index.manifests) {
    let desc: Descriptor = top;
    let doc = parseManifest(
      WHAT,
      await blobs.read(digestAt(files, blobPath(desc)), MANIFEST_BYTES_MAX),
      desc.mediaType,
    );
    for (let depth = 0; doc.kind === 'index'; depth++) {
      if (depth >= 2) throw malformed(WHAT, 'image indexes nest too deeply');
      desc = selectPlatform(WHAT, doc.manifests, platform);
      doc = parseManifest(WHAT, await blobs.read(digestAt(files, blobPath(desc)), MANIFEST_BYTES_MAX), desc.mediaType);
    }
    const configBytes = await blobs.read(digestAt(files, blobPath(doc.config)), CONFIG_BYTES_MAX);
    const config = parseConfig(WHAT, configBytes, doc.layers.length);
    const layers = doc.layers.map((l, i) => {
      digestAt(files, blobPath(l));
      return {
        digest: l.digest,
        mediaType: l.mediaType,
        sizeBytes: l.size,
        diffId: config.rootfs?.diff_ids?.[i] ?? '',
        unpackedBytes: 0,
      };
    });
    images.push({
      id: doc.config.digest,
      manifestDigest: desc.digest,
      references: ociReferences(top),
      layers,
      createdAtMs: createdMs(config.created),
    });
  }
  return images;
}

function blobPath(d: Descriptor): string {
  return `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
}

/** containerd's full-name annotation first; the OCI ref.name only when it is a full reference, not a bare tag. */
function ociReferences(d: Descriptor): string[] {
  const full = d.annotations?.['io.containerd.image.name'];
  const refName = d.annotations?.['org.opencontainers.image.ref.name'];
  const name = full ?? (refName && /[/:]/.test(refName) ? refName : undefined);
  if (!name) return [];
  const parsed = parseReference(name);
  return parsed.tag ? [formatReference({ ...parsed, digest: undefined })] : [];
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    await handle.read(magic, 0, 2, 0);
    return magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function createdMs(created: string | undefined): number {
  const ms = created ? Date.parse(created) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}
