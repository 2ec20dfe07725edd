import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import type { OciRuntime } from './oci-runtime.js';
import { listContainerDirs, listRemovedDirs, loadRecord, saveRecord, type ContainerRecord } from './record.js';
import { containerPaths, deleteRemovedDir, discardContainerFiles } from './create.js';
import { readExitFile, removeExitFile, type ExitFile } from './exits.js';
import { deleteNetns, listNetns } from '../netns/netns.js';
import { unmountTree } from './rootfs.js';
import { isMounted } from '../netns/mount-table.js';

export interface AdoptContext {
  containersDir: string;
  exitDir: string;
  namePrefix: string;
  oci: OciRuntime;
  log: Logger;
  nowMs: number;
}

export interface Adopted {
  records: ContainerRecord[];
  /** Containers that ended while no runtime watched them: the caller finalizes these. */
  ended: { record: ContainerRecord; exit: ExitFile }[];
}

function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function conmonAlive(dir: string): Promise<boolean> {
  const text = await readFile(join(dir, 'conmon.pid'), 'utf8').catch(() => '');
  return processAlive(Number.parseInt(text.trim(), 10));
}

/** What a record that says "running" really is now. */
async function adoptRunning(ctx: AdoptContext, record: ContainerRecord, dir: string): Promise<ExitFile | undefined> {
  const exit = await readExitFile(ctx.exitDir, record.runtimeName);
  if (exit) return exit;
  const state = await ctx.oci.state(record.runtimeName);
  if (state?.status === 'running' || state?.status === 'paused') {
    record.state.pid = state.pid;
    return undefined;
  }
  if (state?.status === 'created') {
    // The daemon died between `create` and `start`: the process never ran; back to created.
    await ctx.oci.delete(record.runtimeName, true);
    record.state = {
      ...record.state,
      status: 'created',
      pid: 0,
      error: 'the daemon stopped while starting the container',
    };
    await saveRecord(dir, record);
    return undefined;
  }
  // conmon writes the exit file right after reaping; while it lives, the file is still coming.
  if (await conmonAlive(dir)) return undefined;
  ctx.log.warn({ container: record.id }, 'container ended without an exit code (its monitor is gone)');
  record.state.error = 'the container ended while its monitor (conmon) was gone; the exit code is unknown';
  return { exitCode: 255, atMs: ctx.nowMs };
}

/**
 * What a restarted daemon finds on disk, made consistent: running containers adopted, ended ones
 * handed back to be finalized with their exit codes, and leftovers of a crash removed — directories
 * without a record (a create cut short), runtime containers and namespaces with our prefix that no
 * record owns.
 */
export async function adoptContainers(ctx: AdoptContext): Promise<Adopted> {
  const records: ContainerRecord[] = [];
  const ended: Adopted['ended'] = [];
  for (const dir of await listRemovedDirs(ctx.containersDir))
    await deleteRemovedDir(join(ctx.containersDir, dir), ctx.log);
  for (const id of await listContainerDirs(ctx.containersDir)) {
    const paths = containerPaths(ctx.containersDir, id);
    const record = await loadRecord(paths.dir);
    if (!record) {
      ctx.log.warn({ dir: paths.dir }, 'removing a container directory without a record (left by a crash in create)');
      await discardContainerFiles(paths, undefined, ctx.log);
      continue;
    }
    records.push(record);
    if (record.state.status === 'running') {
      const exit = await adoptRunning(ctx, record, paths.dir);
      if (exit) ended.push({ record, exit });
      continue;
    }
    // Not running by the record: a runtime container or a mount left by a cut-short start/finalize.
    if ((await ctx.oci.state(record.runtimeName)) !== undefined) await ctx.oci.delete(record.runtimeName, true);
    await removeExitFile(ctx.exitDir, record.runtimeName);
    if (record.state.status === 'exited' && (await isMounted(paths.rootfs))) await unmountTree(paths.rootfs);
  }
  await removeOrphans(ctx, records);
  return { records, ended };
}

async function removeOrphans(ctx: AdoptContext, records: ContainerRecord[]): Promise<void> {
  const known = new Set(records.map((r) => r.runtimeName));
  for (const name of await ctx.oci.list()) {
    if (!name.startsWith(`${ctx.namePrefix}-`) || known.has(name)) continue;
    ctx.log.warn({ name }, 'removing a runtime container that no record owns');
    await ctx.oci.delete(name, true);
    await removeExitFile(ctx.exitDir, name);
  }
  // A namespace is kept while any record refers to it, whether the runtime made it (netnsName) or
  // the network part did and handed over its path: deleting that one would cut a live container off.
  const ownNetns = new Set<string>();
  for (const r of records) {
    if (r.netnsName !== undefined) ownNetns.add(r.netnsName);
    if (r.netnsPath?.startsWith('/run/netns/')) ownNetns.add(r.netnsPath.slice('/run/netns/'.length));
  }
  for (const name of await listNetns(`${ctx.namePrefix}-`)) {
    if (!ownNetns.has(name)) await deleteNetns(name);
  }
}
