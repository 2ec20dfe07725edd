import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile, chown, chmod, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/process/run.js';

/**
 * Busybox images built from busybox-static with umoci: the image the lab's registry serves
 * (lab/registry.ts) and the engine's image tests pull (docs/lab.md). Not test-only, so it lives
 * here rather than in testing/. Layer 1 is a busybox rootfs plus files that layer 2 deletes or
 * hides; layer 2 (hand-made, so it holds exactly the entries under test) whites out /etc/gone.txt, makes /opq opaque, and adds a setuid file owned
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
