import { mkdir, symlink, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../../lib/process/run.js';
import type { ImageForRuntime, OciImageConfig } from '../../image-contract.js';

/** Test support: a two-layer busybox image built from busybox-static, no registry needed. */

/**
 * Layer 1: /bin/busybox and its applets as relative symlinks (busybox --install -s would point
 * them at the host path, which does not exist inside the container). Layer 2: users, groups, a
 * work directory.
 */
export async function makeBusyboxImage(dir: string, config: OciImageConfig = {}): Promise<ImageForRuntime> {
  const base = join(dir, 'layer1');
  const top = join(dir, 'layer2');
  await mkdir(join(base, 'bin'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(base, 'bin', 'busybox'));
  await run('chmod', ['755', join(base, 'bin', 'busybox')]);
  const applets = (await run('/usr/bin/busybox', ['--list'])).stdout
    .split('\n')
    .filter((a) => a !== '' && a !== 'busybox');
  await Promise.all(applets.map((a) => symlink('busybox', join(base, 'bin', a))));
  await Promise.all(['etc', 'srv/work', 'tmp', 'home/app'].map((d) => mkdir(join(top, d), { recursive: true })));
  await writeFile(join(top, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(join(top, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  await run('chmod', ['1777', join(top, 'tmp')]);
  return {
    id: `sha256:${randomBytes(32).toString('hex')}`,
    reference: 'test/busybox:1',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'IMAGE_VAR=image'],
      Cmd: ['sh'],
      ...config,
    },
    layerDirs: [base, top],
  };
}
