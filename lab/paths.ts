import { join } from 'node:path';

/**
 * Where a lab keeps things. Everything a lab makes carries its name, so labs never collide and
 * `lab prune` can find every leftover by prefix.
 */
export const LAB_ROOT_DEFAULT = '/var/lib/tswarm-lab';
/** Network namespaces of labs: tsl-NAME-sw (the switch), tsl-NAME-HOST (the hosts). */
export const NETNS_PREFIX = 'tsl-';
/** A cgroup v1 hierarchy with no controllers, used only to track each host's processes. */
export const CGROUP_HIERARCHY_NAME = 'tswarm-lab';
export const CGROUP_MOUNT = '/run/tswarm-lab/cgroup';
/** The lab's registry host (lab/registry.ts): a namespace beside the daemon hosts, at .5 (docs/architecture.md, "Address plan"). */
export const REGISTRY_HOST = 'reg';
export const REGISTRY_ADDR = '192.168.77.5';

export function labRoot(): string {
  return process.env['TSWARM_LAB_ROOT'] ?? LAB_ROOT_DEFAULT;
}

export const labPaths = {
  dir: (lab: string) => join(labRoot(), lab),
  state: (lab: string) => join(labRoot(), lab, 'state.json'),
  lock: (lab: string) => join(labRoot(), lab, 'lab.lock'),
  hostDir: (lab: string, host: string) => join(labRoot(), lab, 'hosts', host),
  dataDir: (lab: string, host: string) => join(labRoot(), lab, 'hosts', host, 'data'),
  socket: (lab: string, host: string) => join(labRoot(), lab, 'hosts', host, 'tswarmd.sock'),
  daemonLog: (lab: string, host: string) => join(labRoot(), lab, 'hosts', host, 'tswarmd.log'),
  switchNetns: (lab: string) => `${NETNS_PREFIX}${lab}-sw`,
  hostNetns: (lab: string, host: string) => `${NETNS_PREFIX}${lab}-${host}`,
  netnsPath: (netns: string) => `/run/netns/${netns}`,
  cgroupLab: (lab: string) => join(CGROUP_MOUNT, lab),
  cgroupHost: (lab: string, host: string) => join(CGROUP_MOUNT, lab, host),
  /** The switch port for a host, inside the switch namespace (an interface name: ≤ 15 bytes). */
  switchPort: (host: string) => `p-${host}`,
  /** Bridge 0 is the healed switch; bridges 1… hold the other groups of a partition. */
  switchBridge: (group: number) => `br${group}`,
};
