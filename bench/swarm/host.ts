import { spawn } from 'node:child_process';
import { access, chmod, mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_MOUNT } from '../../lab/paths.js';
import type { HostState } from '../../lab/state.js';
import { hostCommandScript, isAlive, signalProcess, type ProcessRef } from '../../lab/processes.js';
import { processStartTime } from '../../lib/process/pid-lock.js';
import { waitFor } from '../../lib/poll.js';
import { EngineApi } from '../services/engine-api.js';

/**
 * One Docker Swarm host on a lab host (/work/shared/LAB.md, "Docker Swarm on lab hosts"): a
 * containerd and a dockerd of its own, in the host's network namespace and in a private mount and
 * UTS namespace, so that
 * - /sys is a fresh sysfs showing the host's own links (dockerd reads /sys/class/net), with the
 *   cgroup v1 hierarchies bound back over it (a plain `ip netns exec` would hide them);
 * - /run is a private tmpfs: containerd's state and sockets, dockerd's exec root and pidfile, the
 *   shims' sockets and xtables.lock all vanish with the namespace when its last process ends;
 * - the overlay mounts of containers are made in that namespace, not the machine's;
 * - each host has its own hostname, which is its node's name in the swarm.
 * Every process is started into the lab host's cgroup (lab/processes.ts), so `lab down` ends them
 * all — daemons, shims and containers — by PID. What lives outside the namespaces is the data
 * under the lab's directory (removed by `lab down`) and the containers' cgroup parent in each v1
 * controller, which removeCgroupParent() removes.
 */
export const DOCKERD = '/usr/sbin/dockerd';
export const CONTAINERD = '/usr/bin/containerd';
const START_TIMEOUT_MS = 30_000;
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface SwarmHost {
  name: string;
  addr: string;
  /** The Engine API of this host's dockerd, on a socket under the lab's directory. */
  api: EngineApi;
  /** The running dockerd (pid and start time, so a signal never hits a recycled pid). */
  dockerd: ProcessRef;
}

/** Why the Docker Swarm baseline cannot run on this machine, or undefined when it can. */
export async function swarmMissing(): Promise<string | undefined> {
  for (const bin of [DOCKERD, CONTAINERD]) {
    if (
      !(await access(bin).then(
        () => true,
        () => false,
      ))
    )
      return `${bin} is not installed (./scripts/setup.sh --bench installs Debian's docker.io)`;
  }
  return undefined;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

interface HostFiles {
  dir: string;
  boot: string;
  dockerd: string;
  socket: string;
  containerdPid: string;
  cgroupParent: string;
}

function hostFiles(lab: string, host: HostState): HostFiles {
  const dir = join(host.dataDir, '..', 'swarm');
  return {
    dir,
    boot: join(dir, 'boot.sh'),
    dockerd: join(dir, 'dockerd.sh'),
    socket: join(dir, 'docker.sock'),
    containerdPid: join(dir, 'containerd.pid'),
    cgroupParent: `swlab-${lab}-${host.name}`,
  };
}

/** The scripts a host's daemons start from: boot.sh makes the namespace's mounts, starts containerd, execs dockerd.sh. */
async function writeScripts(f: HostFiles, host: HostState, registry: string): Promise<void> {
  const q = shellQuote;
  await mkdir(join(f.dir, 'cgroup-keep'), { recursive: true });
  await writeFile(join(f.dir, 'daemon.json'), '{}\n');
  await writeFile(
    join(f.dir, 'containerd.toml'),
    [
      'version = 2',
      `root = ${JSON.stringify(join(f.dir, 'containerd'))}`,
      // Only dockerd uses this containerd: no Kubernetes CRI.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '',
    ].join('\n'),
  );
  await writeFile(
    f.boot,
    [
      '#!/bin/sh',
      "# In the lab host's network namespace and a private mount + UTS namespace (unshare --propagation slave).",
      'set -eu',
      `mount --rbind /sys/fs/cgroup ${q(join(f.dir, 'cgroup-keep'))}`,
      'mount -t sysfs sysfs /sys',
      `mount --rbind ${q(join(f.dir, 'cgroup-keep'))} /sys/fs/cgroup`,
      `umount -l ${q(join(f.dir, 'cgroup-keep'))}`,
      // runc mounts every hierarchy the container's processes are in, the lab's named one too
      // (lab/cgroup.ts): it lives under /run, so it is kept across the tmpfs.
      `mount --rbind ${q(CGROUP_MOUNT)} ${q(join(f.dir, 'cgroup-keep'))}`,
      'mount -t tmpfs -o mode=755 tmpfs /run',
      `mkdir -p ${q(CGROUP_MOUNT)}`,
      `mount --rbind ${q(join(f.dir, 'cgroup-keep'))} ${q(CGROUP_MOUNT)}`,
      `umount -l ${q(join(f.dir, 'cgroup-keep'))}`,
      `hostname ${q(host.name)}`,
      `${CONTAINERD} --config ${q(join(f.dir, 'containerd.toml'))} >>${q(join(f.dir, 'containerd.log'))} 2>&1 &`,
      `echo $! >${q(f.containerdPid)}`,
      'i=0',
      'until [ -S /run/containerd/containerd.sock ]; do',
      '  i=$((i + 1)); if [ "$i" -gt 300 ]; then echo "containerd did not start" >&2; exit 1; fi; sleep 0.05',
      'done',
      `exec sh ${q(f.dockerd)}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    f.dockerd,
    [
      '#!/bin/sh',
      '# dockerd beside its containerd (same mount namespace: it mounts the rootfs the shim then uses).',
      `exec ${DOCKERD} --config-file ${q(join(f.dir, 'daemon.json'))} --data-root ${q(join(f.dir, 'docker'))} \\`,
      `  --containerd /run/containerd/containerd.sock -H ${q(`unix://${f.socket}`)} --storage-driver overlay2 \\`,
      `  --cgroup-parent ${q(f.cgroupParent)} --insecure-registry ${q(registry)} --log-level warn \\`,
      `  >>${q(join(f.dir, 'dockerd.log'))} 2>&1`,
      '',
    ].join('\n'),
  );
  await chmod(f.boot, 0o755);
  await chmod(f.dockerd, 0o755);
}

/** Starts `argv` as a process of the lab host (its cgroup, its network namespace); sh and nsenter exec, so its pid is the program's. */
async function startInHost(lab: string, host: HostState, argv: string[], what: string): Promise<ProcessRef> {
  const child = spawn('/bin/sh', ['-c', hostCommandScript(lab, host, argv)], { stdio: 'ignore', detached: true });
  child.unref();
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (err) => reject(new Error(`cannot start ${what} on ${host.name}: ${err.message}`)));
  });
  const startTime = processStartTime(pid);
  if (!startTime) throw new Error(`${what} on ${host.name} exited at once`);
  return { pid, startTime };
}

async function waitAnswers(api: EngineApi, dockerd: ProcessRef, log: string): Promise<void> {
  await waitFor(
    async () => {
      if (!isAlive(dockerd)) {
        const tail = (await readFile(log, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-5).join('\n');
        throw new Error(`dockerd on ${api.label} exited. Its log ends:\n${tail}`);
      }
      return api.answers();
    },
    { what: `${api.label} dockerd to answer`, timeoutMs: START_TIMEOUT_MS, intervalMs: 50 },
  );
}

/** Boots containerd and dockerd on a lab host whose tswarmd is stopped. */
export async function bootSwarmHost(lab: string, host: HostState, registry: string): Promise<SwarmHost> {
  const f = hostFiles(lab, host);
  await writeScripts(f, host, registry);
  const argv = ['unshare', '--mount', '--uts', '--propagation', 'slave', f.boot];
  const dockerd = await startInHost(lab, host, argv, 'containerd + dockerd');
  const api = new EngineApi(`swarm ${host.name}`, f.socket);
  await waitAnswers(api, dockerd, join(f.dir, 'dockerd.log'));
  return { name: host.name, addr: host.addr, api, dockerd };
}

/** SIGKILL of dockerd alone: containerd, the shims and the containers go on, as after a dockerd crash. */
export function killDockerd(host: SwarmHost): void {
  if (!signalProcess(host.dockerd, 'SIGKILL')) throw new Error(`dockerd on ${host.name} is not running`);
}

/** Starts dockerd again in the namespaces of the host's running containerd. */
export async function restartDockerd(lab: string, labHost: HostState, host: SwarmHost): Promise<void> {
  const f = hostFiles(lab, labHost);
  const containerdPid = (await readFile(f.containerdPid, 'utf8')).trim();
  const argv = ['nsenter', '-t', containerdPid, '--mount', '--uts', '--', 'sh', f.dockerd];
  host.dockerd = await startInHost(lab, labHost, argv, 'dockerd');
  await waitAnswers(host.api, host.dockerd, join(f.dir, 'dockerd.log'));
}

/**
 * Removes the containers' cgroup parent from every v1 controller, deepest first. Only once the
 * host's processes are gone (after `lab down`): a cgroup with processes cannot be removed.
 */
export async function removeCgroupParent(lab: string, host: HostState): Promise<void> {
  const parent = hostFiles(lab, host).cgroupParent;
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    await rmdir(dir).catch(() => undefined);
  };
  const controllers = await readdir(CGROUP_ROOT, { withFileTypes: true }).catch(() => []);
  for (const c of controllers) if (c.isDirectory()) await removeTree(join(CGROUP_ROOT, c.name, parent));
}
