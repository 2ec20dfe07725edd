import { run } from '../lib/process/run.js';
import { labPaths, NETNS_PREFIX } from './paths.js';
import { UNDERLAY_PREFIX_LENGTH } from './plan.js';

/**
 * The lab's network: a switch (a bridge in a namespace of its own, so the root namespace gets no
 * new links, addresses or routes) and one namespace per host joined to it by a veth pair
 * (docs/lab.md). Shelling out to iproute2 is cheap (~4 ms a command) and works in any namespace.
 */
const IP_TIMEOUT_MS = 10_000;

function ip(args: string[]): Promise<unknown> {
  return run('ip', args, { timeoutMs: IP_TIMEOUT_MS });
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'], { timeoutMs: IP_TIMEOUT_MS });
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

export async function listLabNetns(lab?: string): Promise<string[]> {
  const prefix = lab === undefined ? NETNS_PREFIX : `${NETNS_PREFIX}${lab}-`;
  return (await listNetns()).filter((n) => n.startsWith(prefix));
}

/** Deleting a namespace removes every link, bridge, vxlan and nft table inside it. */
export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
}

export async function createSwitch(lab: string): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  await ip(['netns', 'add', sw]);
  await ip(['-n', sw, 'link', 'set', 'lo', 'up']);
  await ensureBridge(lab, 0);
}

async function ensureBridge(lab: string, group: number): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  const br = labPaths.switchBridge(group);
  const exists = await run('ip', ['-n', sw, 'link', 'show', br], { timeoutMs: IP_TIMEOUT_MS, allowFailure: true });
  if (exists.code !== 0) await ip(['-n', sw, 'link', 'add', br, 'type', 'bridge']);
  await ip(['-n', sw, 'link', 'set', br, 'up']);
}

export async function createHost(lab: string, host: string, addr: string): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  const ns = labPaths.hostNetns(lab, host);
  const port = labPaths.switchPort(host);
  await ip(['netns', 'add', ns]);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  await ip(['link', 'add', port, 'netns', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await ip(['-n', sw, 'link', 'set', port, 'master', labPaths.switchBridge(0), 'up']);
  await ip(['-n', ns, 'addr', 'add', `${addr}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', 'eth0']);
  await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  // Hosts route for their containers, as any Docker host does.
  await run('nsenter', [`--net=${labPaths.netnsPath(ns)}`, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'], {
    timeoutMs: IP_TIMEOUT_MS,
  });
}

/**
 * A partition moves each group's switch ports onto a bridge of its own: frames never cross
 * between bridges, so hosts reach exactly the members of their group. Links stay up, as when a
 * switch drops traffic, so established connections see silence rather than a reset.
 */
export async function applyPartition(lab: string, groups: readonly (readonly string[])[]): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  for (let g = 0; g < groups.length; g++) {
    await ensureBridge(lab, g);
    for (const host of groups[g] ?? [])
      await ip(['-n', sw, 'link', 'set', labPaths.switchPort(host), 'master', labPaths.switchBridge(g)]);
  }
  await deleteBridgesFrom(lab, groups.length);
}

export async function healPartition(lab: string, hosts: readonly string[]): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  for (const host of hosts)
    await ip(['-n', sw, 'link', 'set', labPaths.switchPort(host), 'master', labPaths.switchBridge(0)]);
  await deleteBridgesFrom(lab, 1);
}

async function deleteBridgesFrom(lab: string, firstGroup: number): Promise<void> {
  const sw = labPaths.switchNetns(lab);
  const { stdout } = await run('ip', ['-n', sw, '-o', 'link', 'show', 'type', 'bridge'], { timeoutMs: IP_TIMEOUT_MS });
  for (const match of stdout.matchAll(/^\d+: br(\d+)[:@]/gm)) {
    if (Number(match[1]) >= firstGroup) await ip(['-n', sw, 'link', 'del', `br${match[1]}`]);
  }
}
