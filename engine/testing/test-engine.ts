import { rm } from 'node:fs/promises';
import type { Engine } from '../engine.js';
import type { TestRegistry } from '../image/testing/test-registry.js';
import { unmountTree } from '../runtime/rootfs.js';
import { removePrefixCgroups } from './scratch.js';

/**
 * Tears down what an engine test made, whatever state a failed test left: every container, the
 * engine, the registry (by PID), the prefix's cgroups, mounts under the temp dir, the temp dir.
 */
export async function destroyTestEngine(t: {
  engine?: Engine | undefined;
  registry?: TestRegistry | undefined;
  prefix: string;
  dir?: string | undefined;
}): Promise<void> {
  if (t.engine) {
    for (const c of t.engine.containerList({ all: true }))
      await t.engine.containerRemove(c.id, { force: true }).catch(() => undefined);
    await t.engine.close();
  }
  await t.registry?.stop();
  await removePrefixCgroups(t.prefix);
  if (t.dir) {
    await unmountTree(t.dir);
    await rm(t.dir, { recursive: true, force: true });
  }
}
