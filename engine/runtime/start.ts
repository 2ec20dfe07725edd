import { join } from 'node:path';
import { TswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { MountType } from '../../gen/tswarm/v1/objects.js';
import { isPinnedNamespace } from '../netns/mount-table.js';
import { createNetns, deleteNetns } from '../netns/netns.js';
import { conmonCreate } from './conmon.js';
import type { ContainerPaths } from './create.js';
import type { OciRuntime } from './oci-runtime.js';
import type { HostProbe } from './probe.js';
import { cannotRunExitCode } from './process.js';
import { RUNTIME_MADE_NETNS, saveRecord, type ContainerRecord } from './record.js';
import { mountRootfs } from './rootfs.js';
import type { SeccompBpfCache } from './seccomp-cache.js';
import type { SeccompProfile } from './seccomp.js';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * The steps of starting a container, in order: its root filesystem and namespace in place, the
 * container created under conmon, then started and recorded as running. A step that fails records
 * why on the container (its exit code says whether the command could not run) and undoes the
 * runtime's part. ContainerRuntime.start runs them under the container's lock.
 */

export interface StartContext {
  host: HostProbe;
  oci: OciRuntime;
  exitDir: string;
  socketDir: string;
  logBytesMax: number;
  clock: Clock;
  log: Logger;
}

/** Mounts the root filesystem and re-makes a namespace whose pin lost it (a crash while making it). */
export async function prepareStart(record: ContainerRecord, paths: ContainerPaths): Promise<void> {
  await mountRootfs(record.image.layerDirs, { upper: paths.upper, work: paths.work, target: paths.rootfs });
  if (record.netnsName && !(await isPinnedNamespace(record.netnsPath!))) {
    // A pin file without a namespace on it (a crash while making it) goes first.
    await deleteNetns(record.netnsName);
    await createNetns(record.netnsName);
  } else if (record.config.networkMode === 'none' && record.netnsPath && !(await isPinnedNamespace(record.netnsPath))) {
    await letRuntimeMakeNetns(record, paths);
  }
}

/**
 * A `none` container made by an earlier version joins a namespace the network part pinned and has
 * let go since it stopped; it now gets one the OCI runtime makes, as new ones do.
 */
async function letRuntimeMakeNetns(record: ContainerRecord, paths: ContainerPaths): Promise<void> {
  const configPath = join(paths.bundle, 'config.json');
  const oci = JSON.parse(await readFile(configPath, 'utf8')) as { linux: { namespaces: { type: string }[] } };
  oci.linux.namespaces = [...oci.linux.namespaces.filter((n) => n.type !== 'network'), { type: 'network' }];
  await writeFile(configPath, JSON.stringify(oci, null, 1));
  record.netnsPath = RUNTIME_MADE_NETNS;
  await saveRecord(paths.dir, record);
}

/** Creates the container under conmon; returns the container's PID. */
export async function launchUnderConmon(
  ctx: StartContext,
  record: ContainerRecord,
  paths: ContainerPaths,
): Promise<number> {
  const runtime = ctx.oci.conmonCommand({
    hostBindMounts: (record.config.spec?.mounts ?? []).some(
      (m) => m.type === MountType.MOUNT_TYPE_BIND || m.type === MountType.MOUNT_TYPE_UNSPECIFIED,
    ),
  });
  let pid: number;
  try {
    pid = await conmonCreate({
      conmonPath: ctx.host.conmonPath!,
      runtimePath: runtime.path,
      runtimeArgs: runtime.args,
      name: record.runtimeName,
      bundleDir: paths.bundle,
      containerPidFile: join(paths.dir, 'ctr.pid'),
      conmonPidFile: join(paths.dir, 'conmon.pid'),
      logPath: paths.log,
      logBytesMax: ctx.logBytesMax,
      exitDir: ctx.exitDir,
      socketDir: ctx.socketDir,
      conmonLogPath: join(paths.dir, 'conmon.log'),
      terminal: record.config.spec?.tty ?? false,
      stdin: record.config.spec?.openStdin ?? false,
      stdinOnce: record.config.spec?.stdinOnce ?? false,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    record.state = { ...record.state, exitCode: cannotRunExitCode(message), error: message };
    await saveRecord(paths.dir, record);
    await ctx.oci.delete(record.runtimeName, true);
    throw new TswarmError('FAILED_PRECONDITION', `cannot start container ${record.name}: ${message}`, { cause: err });
  }
  return pid;
}

/** Records the created container as running and starts its process. */
export async function startLaunched(
  ctx: StartContext,
  record: ContainerRecord,
  paths: ContainerPaths,
  pid: number,
): Promise<void> {
  record.state = {
    ...record.state,
    status: 'running',
    pid,
    exitCode: 0,
    oomKilled: false,
    pidsLimitHit: false,
    startedAtMs: ctx.clock.nowMs(),
    finishedAtMs: 0,
    error: '',
    health: record.health ? 'starting' : '',
  };
  // Recorded while the process is let go (each takes a few ms): a daemon killed in between
  // leaves a record saying created over a live container, which adoption deletes — a start
  // never acknowledged. Both must succeed; otherwise the start failed, and says why.
  const [saved, started] = await Promise.allSettled([saveRecord(paths.dir, record), ctx.oci.start(record.runtimeName)]);
  if (saved.status === 'rejected' || started.status === 'rejected') {
    const err: unknown = started.status === 'rejected' ? started.reason : (saved as PromiseRejectedResult).reason;
    // A container whose start failed must not show as Up, nor run unrecorded.
    const message = err instanceof Error ? err.message : String(err);
    record.state = {
      ...record.state,
      status: 'exited',
      exitCode: cannotRunExitCode(message),
      finishedAtMs: ctx.clock.nowMs(),
      error: message,
      health: '',
    };
    await saveRecord(paths.dir, record);
    await ctx.oci
      .delete(record.runtimeName, true)
      .catch((e: unknown) => ctx.log.warn({ err: e, container: record.id }, 'removing a container whose start failed'));
    throw new TswarmError('FAILED_PRECONDITION', `cannot start container ${record.name}: ${message}`, { cause: err });
  }
}

/**
 * After the first create of a profile, keeps the program crun compiled into its state dir (it
 * is gone once the container is deleted). The file is read now; the cache writes it in the
 * background, since a failure there only costs the next container a compile.
 */
export async function keepCompiledSeccomp(
  ctx: StartContext,
  record: ContainerRecord,
  uncompiled: Map<string, SeccompProfile>,
  cache: SeccompBpfCache | undefined,
): Promise<void> {
  const profile = uncompiled.get(record.id);
  if (!profile || !cache) return;
  uncompiled.delete(record.id);
  const bpfPath = join(ctx.oci.stateRoot, record.runtimeName, 'seccomp.bpf');
  const program = await readFile(bpfPath).catch((err: unknown) => {
    ctx.log.warn({ err, bpfPath }, 'crun left no compiled seccomp filter to keep');
    return undefined;
  });
  if (program) void cache.remember(profile, program);
}
