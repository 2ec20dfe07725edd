import { readFile, readlink } from 'node:fs/promises';
import { cgroupTreePids } from '../../lab/cgroup.js';
import { labPaths } from '../../lab/paths.js';

/**
 * The resident memory of a host's container engine — "the daemon and its helpers": every process
 * of the lab host's cgroup (lab/processes.ts starts everything of a host there, and what those
 * processes spawn stays there) except the task containers' own processes. A container's
 * processes are told apart by their PID namespace: both systems give every container one of its
 * own, while the daemons and their helpers live in the machine's. So the same rule counts, for
 * tswarm, tswarmd and any helper it spawned, and for Docker Swarm, dockerd + containerd + any
 * containerd-shim (none when no container runs).
 */

export interface HostRss {
  bytes: number;
  /** How many processes were counted (the daemon and its helpers). */
  processes: number;
}

/** The lab host's processes, in its cgroup and the cgroups below it. */
export function labHostPids(lab: string, host: string): Promise<number[]> {
  return cgroupTreePids(labPaths.cgroupHost(lab, host));
}

/** VmRSS of a process in bytes, or undefined when it is gone or has no memory of its own (a kernel thread). */
export function vmRssBytes(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Sums VmRSS over `pids` in this machine's PID namespace (the engine's processes, not a container's). */
export async function engineRss(pids: readonly number[]): Promise<HostRss> {
  const ownNamespace = await readlink('/proc/self/ns/pid');
  let bytes = 0;
  let processes = 0;
  for (const pid of pids) {
    // A process may end between the listing and the read: it is then not counted.
    const ns = await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);
    if (ns !== ownNamespace) continue;
    const rss = vmRssBytes(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
    if (rss === undefined) continue;
    bytes += rss;
    processes++;
  }
  return { bytes, processes };
}
