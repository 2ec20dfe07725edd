import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/process/run.js';
import { which } from '../../lib/process/which.js';
import { readMounts } from '../netns/mount-table.js';

export type RuntimeName = 'crun' | 'runc';
export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

/** What the host offers the engine, found at startup; `missing` says in words what is absent. */
export interface HostProbe {
  runtime: RuntimeName;
  runtimePath: string | undefined;
  runtimeVersion: string | undefined;
  conmonPath: string | undefined;
  catatonitPath: string | undefined;
  cgroupLayout: CgroupLayout;
  /** Controllers mounted on the cgroup2 hierarchy (the unified one on a hybrid host). */
  unifiedControllers: string[];
  /** Where the cgroup2 hierarchy is mounted on a hybrid host (/sys/fs/cgroup/unified). */
  unifiedMount: string | undefined;
  /** Always cgroupfs unless PID 1 is systemd (tswarm never uses the systemd driver). */
  cgroupDriver: 'cgroupfs' | 'systemd';
  overlayfs: boolean;
  nftPath: string | undefined;
  /**
   * crun refuses a hybrid layout whose cgroup2 holds controllers; it then runs in a private
   * mount namespace without /sys/fs/cgroup/unified (docs/lab.md).
   */
  needsHybridWorkaround: boolean;
  missing: string[];
}

const PROBE_TIMEOUT_MS = 5_000;

/** Where some distributions keep the runtime's tools outside PATH (conmon in /usr/libexec/podman). */
const TOOL_DIRS: readonly string[] = ['/usr/sbin', '/sbin', '/usr/libexec/podman'];

/** Finds one of the runtime's host tools: PATH first, then TOOL_DIRS. */
export function findTool(command: string): Promise<string | undefined> {
  return which(command, TOOL_DIRS);
}

/** The controllers resource limits need: without one, its limit cannot be enforced. */
const LIMIT_CONTROLLERS = { memory: '--memory', cpu: '--cpus', pids: '--pids-limit' } as const;

async function probeCgroups(): Promise<{
  layout: CgroupLayout;
  unifiedControllers: string[];
  unifiedMount?: string;
  limitControllers: string[];
}> {
  const mounts = await readMounts();
  const root = mounts.find((m) => m.target === '/sys/fs/cgroup');
  if (root?.type === 'cgroup2') {
    const controllers = await readControllers('/sys/fs/cgroup');
    return { layout: 'v2', unifiedControllers: controllers, limitControllers: controllers };
  }
  // v1: each controller is a mount of type cgroup, named in its options (cpu,cpuacct …).
  const v1Controllers = mounts.filter((m) => m.type === 'cgroup').flatMap((m) => m.options.split(','));
  const unified = mounts.find((m) => m.type === 'cgroup2' && m.target.startsWith('/sys/fs/cgroup/'));
  if (!unified) return { layout: 'v1', unifiedControllers: [], limitControllers: v1Controllers };
  return {
    layout: 'hybrid',
    unifiedControllers: await readControllers(unified.target),
    unifiedMount: unified.target,
    limitControllers: v1Controllers,
  };
}

async function readControllers(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, 'cgroup.controllers'), 'utf8').catch(() => '');
  return text.split(/\s+/).filter((c) => c !== '');
}

async function runtimeVersion(path: string): Promise<string | undefined> {
  const result = await run(path, ['--version'], { timeoutMs: PROBE_TIMEOUT_MS, allowFailure: true }).catch(
    () => undefined,
  );
  const match = result?.stdout.match(/version\s+(\S+)/);
  return match?.[1];
}

/** Probes the host for everything the engine's runtime needs; never throws for a missing tool. */
export async function probeHost(runtime: RuntimeName = 'crun'): Promise<HostProbe> {
  const [runtimePath, conmonPath, catatonitPath, nftPath, cgroups, filesystems, pid1] = await Promise.all([
    findTool(runtime),
    findTool('conmon'),
    findTool('catatonit'),
    findTool('nft'),
    probeCgroups(),
    readFile('/proc/filesystems', 'utf8').catch(() => ''),
    readFile('/proc/1/comm', 'utf8').catch(() => ''),
  ]);
  const version = runtimePath ? await runtimeVersion(runtimePath) : undefined;
  const overlayfs = /\boverlay\b/.test(filesystems);
  const missing: string[] = [];
  if (!runtimePath) missing.push(`${runtime} is not installed (apt-get install ${runtime})`);
  if (!conmonPath) missing.push('conmon is not installed (apt-get install conmon)');
  if (!catatonitPath)
    missing.push('catatonit is not installed; containers with init: true cannot start (apt-get install catatonit)');
  if (!overlayfs) missing.push('the kernel has no overlay filesystem; container root filesystems cannot be mounted');
  if (!nftPath)
    missing.push(
      'nft is not installed; networking with published ports and VIPs will not work (apt-get install nftables)',
    );
  for (const [controller, flag] of Object.entries(LIMIT_CONTROLLERS)) {
    if (!cgroups.limitControllers.includes(controller))
      missing.push(`the ${controller} cgroup controller is not available; ${flag} limits cannot be enforced`);
  }
  return {
    runtime,
    runtimePath,
    runtimeVersion: version,
    conmonPath,
    catatonitPath,
    cgroupLayout: cgroups.layout,
    unifiedControllers: cgroups.unifiedControllers,
    unifiedMount: cgroups.unifiedMount,
    cgroupDriver: pid1.trim() === 'systemd' ? 'systemd' : 'cgroupfs',
    overlayfs,
    nftPath,
    needsHybridWorkaround: runtime === 'crun' && cgroups.layout === 'hybrid' && cgroups.unifiedControllers.length > 0,
    missing,
  };
}
