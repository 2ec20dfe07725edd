import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { run } from '../../../lib/process/run.js';

/** Test support: pushing, archiving and multi-platform indexes of the busybox image (busybox-image.ts). */

const TOOL_TIMEOUT_MS = 60_000;

/** Pushes `layout:tag` to `registryHost/test/name:pushTag` (plain HTTP); returns the manifest digest. */
export async function pushTestImage(
  layout: string,
  tag: string,
  registryHost: string,
  name: string,
  pushTag = tag,
  options: { all?: boolean } = {},
): Promise<string> {
  const digestFile = join(layout, `.digest-${tag}`);
  const args = ['copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile];
  if (options.all) args.push('--all');
  await run('skopeo', [...args, `oci:${layout}:${tag}`, `docker://${registryHost}/test/${name}:${pushTag}`], {
    timeoutMs: TOOL_TIMEOUT_MS,
  });
  return (await readFile(digestFile, 'utf8')).trim();
}

/** Writes `docker save` (docker-archive) or OCI (oci-archive) archive of `layout:tag` named `reference`. */
export async function makeArchive(
  layout: string,
  tag: string,
  format: 'docker' | 'oci',
  path: string,
  reference: string,
): Promise<void> {
  const dest = format === 'docker' ? `docker-archive:${path}:${reference}` : `oci-archive:${path}:${reference}`;
  await run('skopeo', ['copy', '--quiet', `oci:${layout}:${tag}`, dest], { timeoutMs: TOOL_TIMEOUT_MS });
}

/**
 * Adds to the layout an OCI index `indexTag` whose entries are copies of `tag` with their config's
 * architecture set to each of `architectures` (so each entry has its own config digest).
 */
export async function addPlatformIndex(
  layout: string,
  tag: string,
  architectures: string[],
  indexTag: string,
): Promise<Record<string, string>> {
  const configIds: Record<string, string> = {};
  const entries: object[] = [];
  for (const arch of architectures) {
    const archTag = `${tag}-${arch}`;
    await run('umoci', ['config', '--image', `${layout}:${tag}`, '--tag', archTag, '--architecture', arch], {
      timeoutMs: TOOL_TIMEOUT_MS,
    });
    const desc = await tagDescriptor(layout, archTag);
    const manifest = JSON.parse(await readFile(blobFile(layout, desc.digest), 'utf8')) as {
      config: { digest: string };
    };
    configIds[arch] = manifest.config.digest;
    entries.push({
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      platform: { os: 'linux', architecture: arch },
    });
  }
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }),
  );
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(blobFile(layout, digest), bytes);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: object[] };
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': indexTag },
  });
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return configIds;
}

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

async function tagDescriptor(layout: string, tag: string): Promise<LayoutDescriptor> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: LayoutDescriptor[] };
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) throw new Error(`tag ${tag} not in ${layout}`);
  return desc;
}

function blobFile(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}
