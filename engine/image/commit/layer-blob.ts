import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { BlobStore } from '../store/blobs.js';
import { upperLayerTar } from './upper-layer.js';

export interface LayerBlob {
  /** sha256 of the gzip blob, as a manifest names it. */
  digest: string;
  sizeBytes: number;
  /** sha256 of the uncompressed tar, as the image config lists it. */
  diffId: string;
}

/**
 * Writes the container's changes into the blob store as a gzip layer, in one streaming pass that
 * hashes the tar (diff ID) on its way to gzip and the gzip (digest) on its way to disk.
 */
export async function storeUpperLayer(upperDir: string, blobs: BlobStore): Promise<LayerBlob> {
  const diffHash = createHash('sha256');
  const tar = Readable.from(
    (async function* () {
      for await (const chunk of upperLayerTar(upperDir)) {
        diffHash.update(chunk);
        yield chunk;
      }
    })(),
  );
  const gzip = createGzip();
  tar.on('error', (err) => gzip.destroy(err));
  const { digest, sizeBytes } = await blobs.ingest(tar.pipe(gzip));
  return { digest, sizeBytes, diffId: `sha256:${diffHash.digest('hex')}` };
}
