import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { ImageError } from '../errors.js';
import { MANIFEST_BYTES_MAX, parseManifest, type Descriptor } from '../oci.js';
import { formatReference, type ImageReference } from '../reference.js';
import { sha256, type BlobStore } from '../store/blobs.js';
import type { Credentials } from './auth.js';
import { responseHeader, type RegistryClient, type Target } from './client.js';
import { discard, type HttpResponse } from './http.js';

/** One blob's step, in Docker's words ("Preparing", "Pushing", "Pushed", "Layer already exists", "Mounted from …"). */
export interface PushProgress {
  digest: string;
  status: string;
  currentBytes?: number;
  totalBytes?: number;
}

export interface PushResult {
  tag: string;
  digest: string;
  sizeBytes: number;
}

export interface PushSource {
  manifestDigest: string;
  /** Other repositories of the registry a blob was pulled from or pushed to: it is mounted from them, not uploaded. */
  mountFrom: (digest: string) => string[];
}

/** At most one "Pushing" report per blob per interval: the daemon streams these to a terminal. */
const PROGRESS_INTERVAL_MS = 200;
const BLOB_CONCURRENCY = 3;
const MOUNT_ATTEMPTS_MAX = 2;

/**
 * Pushes an image as the OCI distribution spec says: each blob (config and layers) is skipped
 * when the repository has it (HEAD), else mounted from another repository of the registry that
 * has it, else uploaded whole (POST then PUT with the digest); the manifest goes last, under
 * the tag. The manifest pushed is the one stored, byte for byte, so the digest stays the same.
 */
export async function pushImage(
  deps: { client: RegistryClient; blobs: BlobStore },
  ref: ImageReference,
  source: PushSource,
  onProgress: (p: PushProgress) => void,
  credentials?: Credentials,
): Promise<PushResult> {
  const t: Target = {
    image: formatReference(ref),
    registry: ref.registry,
    repository: ref.repository,
    action: 'push',
    ...(credentials ? { credentials } : {}),
  };
  const tag = ref.tag ?? 'latest';
  const manifest = await deps.blobs.read(source.manifestDigest, MANIFEST_BYTES_MAX);
  const doc = parseManifest(t.image, manifest, undefined);
  if (doc.kind !== 'manifest') throw new ImageError('INTERNAL', `the stored manifest of ${t.image} is an index`, false);
  for (const layer of doc.layers) onProgress({ digest: layer.digest, status: 'Preparing' });
  const queue = [...doc.layers, doc.config];
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) await pushBlob(deps, t, d, source.mountFrom, onProgress);
  };
  await Promise.all(Array.from({ length: BLOB_CONCURRENCY }, worker));
  await deps.client.withRetries(t, async () => {
    const res = await deps.client.send(
      t,
      `/manifests/${tag}`,
      { 'content-type': doc.mediaType, 'content-length': String(manifest.length) },
      { method: 'PUT', body: () => manifest },
    );
    await expectStatus(res, [201, 200], t, 'the manifest');
  });
  return { tag, digest: sha256(manifest), sizeBytes: manifest.length };
}

async function pushBlob(
  deps: { client: RegistryClient; blobs: BlobStore },
  t: Target,
  d: Descriptor,
  mountFrom: (digest: string) => string[],
  onProgress: (p: PushProgress) => void,
): Promise<void> {
  const { client, blobs } = deps;
  const isConfig = !d.mediaType.includes('layer');
  const report = (p: Omit<PushProgress, 'digest'>) => {
    if (!isConfig) onProgress({ digest: d.digest, ...p });
  };
  const exists = await client.withRetries(t, async () => {
    const res = await client.send(t, `/blobs/${d.digest}`, {}, { method: 'HEAD' });
    discard(res);
    return res.status === 200;
  });
  if (exists) return report({ status: 'Layer already exists' });
  if (!(await blobs.has(d.digest)))
    throw new ImageError(
      'FAILED_PRECONDITION',
      `cannot push ${t.image}: blob ${d.digest} is missing from this node. Pull the image again, then push`,
      false,
    );
  let location: URL | undefined;
  for (const from of mountFrom(d.digest)
    .filter((r) => r !== t.repository)
    .slice(0, MOUNT_ATTEMPTS_MAX)) {
    const res = await client.withRetries(t, () =>
      client.send(
        t,
        `/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`,
        {
          'content-length': '0',
        },
        { method: 'POST', body: () => Buffer.alloc(0) },
      ),
    );
    discard(res);
    if (res.status === 201) return report({ status: `Mounted from ${from}` });
    // A registry that cannot mount starts an ordinary upload instead (202 with its Location).
    if (res.status === 202) location = uploadLocation(res);
  }
  location ??= await client.withRetries(t, async () => {
    const res = await client.send(
      t,
      '/blobs/uploads/',
      { 'content-length': '0' },
      { method: 'POST', body: () => Buffer.alloc(0) },
    );
    await expectStatus(res, [202], t, `an upload of ${d.digest}`);
    return uploadLocation(res);
  });
  const size = (await blobs.sizeOf(d.digest)) ?? d.size;
  const put = new URL(location);
  put.searchParams.set('digest', d.digest);
  let lastReportMs = 0;
  const counted = () => {
    let sent = 0;
    return createReadStream(blobs.path(d.digest)).pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          const now = Date.now();
          if (now - lastReportMs >= PROGRESS_INTERVAL_MS) {
            lastReportMs = now;
            report({ status: 'Pushing', currentBytes: sent, totalBytes: size });
          }
          done(null, chunk);
        },
      }),
    );
  };
  // The upload URL is single-use: a failed PUT is not retried on it (the whole push is retried by the user).
  const res = await client.send(
    t,
    '',
    { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    { method: 'PUT', url: put, body: counted },
  );
  await expectStatus(res, [201, 204], t, `the upload of ${d.digest}`);
  report({ status: 'Pushed', currentBytes: size, totalBytes: size });
}

function uploadLocation(res: HttpResponse): URL {
  const location = responseHeader(res, 'location');
  if (!location)
    throw new ImageError('INTERNAL', `registry ${res.url.host} started an upload without a Location`, false);
  return new URL(location, res.url);
}

async function expectStatus(res: HttpResponse, ok: number[], t: Target, what: string): Promise<void> {
  if (ok.includes(res.status)) {
    discard(res);
    return;
  }
  let said = '';
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > 64 * 1024) break;
      chunks.push(chunk);
    }
    said = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    // no readable body
  }
  throw new ImageError(
    res.status === 404 ? 'NOT_FOUND' : 'INTERNAL',
    `cannot push ${t.image}: registry ${t.registry} answered HTTP ${res.status} to ${what}${said ? ` (${said})` : ''}`,
    false,
  );
}
