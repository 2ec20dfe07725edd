import { createReadStream } from 'node:fs';
import { MANIFEST_BYTES_MAX, MEDIA, parseManifest } from './oci.js';
import { familiarReference, parseReference } from './reference.js';
import type { BlobStore } from './store/blobs.js';
import { TAR_END, tarHeader, tarPadding } from './store/tar-writer.js';

/** One image to save: its ID, stored manifest and the tags it is saved under (normalized). */
export interface SaveImage {
  id: string;
  manifestDigest: string;
  tags: string[];
}

const ARCHIVE_MTIME = new Date(0);

function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function fileEntry(path: string, bytes: Buffer): Buffer[] {
  return [
    tarHeader({ path, type: 'File', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime: ARCHIVE_MTIME }),
    bytes,
    tarPadding(bytes.length),
  ];
}

function dirEntry(path: string): Buffer {
  return tarHeader({ path, type: 'Directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: ARCHIVE_MTIME });
}

/**
 * A `docker save` archive of `images`, streamed, in the layout Docker 25+ writes: an OCI image
 * layout (oci-layout, index.json, blobs/sha256/…) that also carries the legacy manifest.json and
 * repositories, so both OCI tools and older `docker load` read it. Each blob is written once
 * however many images share it.
 */
export async function* saveArchive(images: readonly SaveImage[], blobs: BlobStore): AsyncGenerator<Buffer> {
  const written = new Set<string>();
  const index: Record<string, unknown>[] = [];
  const legacy: Record<string, unknown>[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  yield dirEntry('blobs/');
  yield dirEntry('blobs/sha256/');
  for (const image of images) {
    const manifestBytes = await blobs.read(image.manifestDigest, MANIFEST_BYTES_MAX);
    const doc = parseManifest(image.id, manifestBytes, undefined);
    if (doc.kind !== 'manifest') continue;
    for (const d of [...doc.layers, doc.config]) {
      if (written.has(d.digest)) continue;
      written.add(d.digest);
      const size = (await blobs.sizeOf(d.digest)) ?? 0;
      yield tarHeader({
        path: blobPath(d.digest),
        type: 'File',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size,
        mtime: ARCHIVE_MTIME,
      });
      yield* readExactly(blobs.path(d.digest), size);
      yield tarPadding(size);
    }
    if (!written.has(image.manifestDigest)) {
      written.add(image.manifestDigest);
      yield* fileEntry(blobPath(image.manifestDigest), manifestBytes);
    }
    const descriptor = { mediaType: doc.mediaType, digest: image.manifestDigest, size: manifestBytes.length };
    if (image.tags.length === 0) index.push(descriptor);
    for (const tag of image.tags) {
      const parsed = parseReference(tag);
      index.push({
        ...descriptor,
        annotations: {
          'io.containerd.image.name': tag,
          'org.opencontainers.image.ref.name': parsed.tag ?? 'latest',
        },
      });
      const familiar = familiarReference(tag);
      const repo = familiar.slice(0, familiar.lastIndexOf(':'));
      repositories[repo] = { ...repositories[repo], [parsed.tag ?? 'latest']: image.id.slice('sha256:'.length) };
    }
    legacy.push({
      Config: blobPath(doc.config.digest),
      RepoTags: image.tags.map(familiarReference),
      Layers: doc.layers.map((l) => blobPath(l.digest)),
    });
  }
  yield* fileEntry('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  yield* fileEntry(
    'index.json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index })),
  );
  yield* fileEntry('manifest.json', Buffer.from(JSON.stringify(legacy)));
  if (Object.keys(repositories).length > 0) yield* fileEntry('repositories', Buffer.from(JSON.stringify(repositories)));
  yield TAR_END;
}

/** Exactly `size` bytes of a blob (its announced size), zero-padded should it have shrunk. */
async function* readExactly(path: string, size: number): AsyncGenerator<Buffer> {
  let sent = 0;
  if (size > 0) {
    for await (const chunk of createReadStream(path, { end: size - 1 }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      yield chunk;
    }
  }
  if (sent < size) yield Buffer.alloc(size - sent);
}
