import { readdir } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import type { Logger } from '../lib/log.js';
import { killCgroup, listLabCgroups, removeCgroup } from './cgroup.js';
import { deleteNetns, listLabNetns } from './netns.js';
import { labRoot, labPaths } from './paths.js';
import { loadLabState, type LabState } from './state.js';
import { teardownLab, unmountUnder } from './teardown.js';

export interface PruneReport {
  labs: string[];
  netns: string[];
  cgroups: string[];
  mounts: string[];
}

/**
 * Removes every lab on this machine and whatever a crashed run left behind: processes in the
 * lab's cgroups, mounts under the lab root, `tsl-` namespaces, cgroups and lab directories. It
 * never looks beyond the lab's own prefixes, so it cannot touch anything else on the machine.
 */
export async function pruneLabs(log?: Logger): Promise<PruneReport> {
  const report: PruneReport = { labs: [], netns: [], cgroups: [], mounts: [] };
  const dirs = await readdir(labRoot(), { withFileTypes: true }).catch(() => []);
  for (const d of dirs.filter((e) => e.isDirectory())) {
    let state: LabState | undefined;
    try {
      state = await loadLabState(d.name);
    } catch {
      state = undefined;
    }
    if (state) {
      const r = await teardownLab(state, { graceful: false, log });
      report.netns.push(...r.netns);
      report.mounts.push(...r.mounts);
    }
    report.labs.push(d.name);
  }
  // What no readable state describes: kill by cgroup, unmount, delete by prefix.
  for (const cg of await listLabCgroups()) {
    await killCgroup(cg);
    await removeCgroup(cg);
    report.cgroups.push(cg);
  }
  report.mounts.push(...(await unmountUnder(labRoot())));
  for (const n of await listLabNetns()) {
    await deleteNetns(n);
    report.netns.push(n);
  }
  for (const d of dirs.filter((e) => e.isDirectory())) await rm(labPaths.dir(d.name), { recursive: true, force: true });
  return report;
}
