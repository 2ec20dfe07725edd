import { createHash } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { digestMismatch, imageNotFound, ImageError } from '../errors.js';
import type { Descriptor } from '../oci.js';
import { hashFile } from '../store/blobs.js';
import { writeAll } from '../../../lib/fsutil.js';
import type { RegistryClient, Target } from './client.js';
import { responseHeader } from './client.js';
import { discard, NetworkError, type HttpResponse } from './http.js';

export type OnBytes = (currentBytes: number, totalBytes: number) => void;

/**
 * Downloads blob `desc` into `partialPath`, resuming what a previous attempt (or a previous
 * pull) left there with a Range request when the registry honours it, else starting over. On
 * return the file is complete, fsynced and matches the digest; a mismatch discards it. A resumed
 * download that mismatches is tried once more from scratch, since the stale part may be the
 * corrupt one.
 */
export async function downloadBlob(
  client: RegistryClient,
  t: Target,
  desc: Descriptor,
  partialPath: string,
  onBytes: OnBytes,
): Promise<void> {
  let fromScratch = false;
  for (;;) {
    const resumed = await client.withRetries(t, () => attempt(client, t, desc, partialPath, onBytes));
    const actual = await digestOf(partialPath);
    if (actual === desc.digest) return;
    await rm(partialPath, { force: true });
    if (resumed && !fromScratch) {
      fromScratch = true;
      continue;
    }
    throw digestMismatch(t.image, desc.digest, actual);
  }
}

/** One request; returns whether it continued earlier bytes. Leaves `partialPath` complete in size. */
async function attempt(
  client: RegistryClient,
  t: Target,
  desc: Descriptor,
  partialPath: string,
  onBytes: OnBytes,
): Promise<boolean> {
  let have = await sizeOf(partialPath);
  if (have > desc.size) {
    await rm(partialPath, { force: true });
    have = 0;
  }
  if (have === desc.size && have > 0) return true;
  const res = await client.send(t, `/blobs/${desc.digest}`, have > 0 ? { range: `bytes=${have}-` } : {});
  if (res.status === 404) {
    discard(res);
    throw imageNotFound(t.image, `the registry has no blob ${desc.digest} (BLOB_UNKNOWN)`);
  }
  if (res.status === 416) {
    // The registry cannot serve our range: start over on the next attempt.
    discard(res);
    await rm(partialPath, { force: true });
    throw new NetworkError(`the registry refused to resume ${desc.digest}`, 'ERANGE');
  }
  const start = resumeOffset(res, have);
  if (start === undefined) {
    discard(res);
    throw new ImageError(
      'INTERNAL',
      `cannot pull ${t.image}: registry ${t.registry} answered HTTP ${res.status} for blob ${desc.digest}`,
      false,
    );
  }
  await appendBody(res, partialPath, start, desc, onBytes);
  return start > 0;
}

/** Where the body starts: `have` for a matching 206, 0 for a 200 (the registry ignored Range). */
function resumeOffset(res: HttpResponse, have: number): number | undefined {
  if (res.status === 200) return 0;
  if (res.status !== 206) return undefined;
  const range = /^bytes (\d+)-/.exec(responseHeader(res, 'content-range') ?? '');
  return range && Number(range[1]) === have ? have : undefined;
}

async function appendBody(
  res: HttpResponse,
  path: string,
  start: number,
  desc: Descriptor,
  onBytes: OnBytes,
): Promise<void> {
  const handle = await open(path, start > 0 ? 'a' : 'w', 0o600);
  let current = start;
  try {
    onBytes(current, desc.size);
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      current += chunk.length;
      // More bytes than the descriptor promised can only be wrong content: stop reading now.
      if (current > desc.size) break;
      await writeAll(handle, chunk);
      onBytes(current, desc.size);
    }
    await handle.sync();
  } catch (err) {
    throw new NetworkError(
      `download of ${desc.digest} broke off at ${current} bytes: ${(err as Error).message}`,
      (err as NodeJS.ErrnoException).code,
      { cause: err },
    );
  } finally {
    await handle.close();
    res.body.destroy();
  }
  if (current < desc.size)
    throw new NetworkError(`download of ${desc.digest} ended early at ${current} of ${desc.size} bytes`, 'ESHORT');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function digestOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(path, hash);
  return `sha256:${hash.digest('hex')}`;
}
