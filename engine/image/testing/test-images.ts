import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile, chown, chmod, access } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../lib/process/run.js';

/**
 * Test images built from busybox-static with umoci, as LAB.md describes. Layer 1 is a busybox
 * rootfs plus files that layer 2 deletes or hides; layer 2 (hand-made, so it holds exactly the
 * entries under test) whites out /etc/gone.txt, makes /opq opaque, and adds a setuid file owned
 * by 1000:1001, a hard link to it, an absolute symlink and a character device.
 */
const TOOL_TIMEOUT_MS = 60_000;

const BASE_APPLETS = ['sh', 'ls', 'cat', 'echo', 'sleep', 'true', 'nc'];

/** `applets` adds busybox applets (symlinks in /bin) beyond the base set, for tests that need them. */
export async function buildBusyboxImage(
  layout: string,
  tag: string,
  options: { withChangesLayer?: boolean; applets?: readonly string[] } = {},
): Promise<void> {
  try {
    await access(join(layout, 'index.json'));
  } catch {
    await run('umoci', ['init', '--layout', layout], { timeoutMs: TOOL_TIMEOUT_MS });
  }
  await run('umoci', ['new', '--image', `${layout}:${tag}`], { timeoutMs: TOOL_TIMEOUT_MS });
  const bundle = await mkdtemp(join(tmpdir(), 'tswarm-bundle-'));
  try {
    await rm(bundle, { recursive: true });
    await run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle], { timeoutMs: TOOL_TIMEOUT_MS });
    const rootfs = join(bundle, 'rootfs');
    for (const d of ['bin', 'etc', 'opq', 'tmp']) await mkdir(join(rootfs, d), { recursive: true });
    await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of new Set([...BASE_APPLETS, ...(options.applets ?? [])]))
      await symlink('busybox', join(rootfs, 'bin', applet));
    await writeFile(join(rootfs, 'etc', 'gone.txt'), 'deleted by layer 2\n');
    await writeFile(join(rootfs, 'etc', 'kept.txt'), 'kept\n');
    await writeFile(join(rootfs, 'opq', 'hidden.txt'), 'hidden by layer 2\n');
    await run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle], { timeoutMs: TOOL_TIMEOUT_MS });
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
  if (options.withChangesLayer) await addChangesLayer(layout, tag);
  await run('umoci', ['config', '--image', `${layout}:${tag}`, '--config.cmd', 'sh', '--config.env', 'PATH=/bin'], {
    timeoutMs: TOOL_TIMEOUT_MS,
  });
}

async function addChangesLayer(layout: string, tag: string): Promise<void> {
  const stage = await mkdtemp(join(tmpdir(), 'tswarm-layer-'));
  try {
    const s = (p: string) => join(stage, 'root', p);
    for (const d of ['etc', 'opq', 'misc']) await mkdir(s(d), { recursive: true });
    await writeFile(s('etc/.wh.gone.txt'), '');
    await writeFile(s('opq/.wh..wh..opq'), '');
    await writeFile(s('opq/new.txt'), 'new\n');
    await writeFile(s('misc/setuid'), 'suid\n');
    await chown(s('misc/setuid'), 1000, 1001);
    await chmod(s('misc/setuid'), 0o4755);
    await run('ln', [s('misc/setuid'), s('misc/hardlink')]);
    await symlink('/bin/busybox', s('misc/abs-link'));
    await run('mknod', [s('misc/null'), 'c', '1', '3']);
    const tar = join(stage, 'layer.tar');
    // POSIX (pax) format, as Docker and umoci write layers; npm tar reads device numbers only from ustar/pax headers.
    await run('tar', ['--format=posix', '--numeric-owner', '-C', join(stage, 'root'), '-cf', tar, '.'], {
      timeoutMs: TOOL_TIMEOUT_MS,
    });
    await run('umoci', ['raw', 'add-layer', '--image', `${layout}:${tag}`, tar], { timeoutMs: TOOL_TIMEOUT_MS });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

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
