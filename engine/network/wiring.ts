import { access } from 'node:fs/promises';
import { createNetns, deleteNetns, netnsPath } from '../runtime/netns.js';
import { run } from '../../lib/run.js';
import type { HostNs } from './host-ns.js';
import { COMMAND_TIMEOUT_MS } from './host-ns.js';
import { macFor, type Subnet } from './ipam.js';
import { parseProcNet } from './ports.js';

/** The container's MTU: a plain bridge on a 1500-byte underlay (overlays use 1450, LAB.md). */
export const CONTAINER_MTU = 1500;

/**
 * The node's bridge, like docker0: made if missing, its gateway address set, up. Also turns on
 * what routing through it needs: ip_forward, and route_localnet on the bridge so host connections
 * from 127.0.0.1 to a published port can be DNATed onto it (Docker does the same without its
 * userland proxy). Idempotent: run at every open.
 */
export async function ensureBridge(host: HostNs, bridge: string, subnet: Subnet, gateway: string): Promise<void> {
  const exists = await host.ip(['link', 'show', 'dev', bridge], { allowFailure: true });
  if (exists.code !== 0) await host.ip(['link', 'add', bridge, 'type', 'bridge']);
  await host.ip(['addr', 'replace', `${gateway}/${subnet.prefixLength}`, 'dev', bridge]);
  await host.ip(['link', 'set', bridge, 'up']);
  await host.sysctl('net.ipv4.ip_forward', '1');
  await host.sysctl(`net.ipv4.conf.${bridge}.route_localnet`, '1');
}

export interface VethPlan {
  netnsName: string;
  veth: string;
  bridge: string;
  ip: string;
  subnet: Subnet;
  gateway: string;
}

/**
 * A container's namespace wired to the bridge: a veth pair whose host end joins the bridge and
 * whose other end is born inside the namespace as eth0, with the address, a MAC derived from it
 * and a default route via the gateway. A leftover veth of the same name (a crash mid-attach) is
 * removed first. On failure the caller undoes with `unwire`.
 */
export async function wireVeth(host: HostNs, plan: VethPlan): Promise<void> {
  await host.ip(['link', 'del', plan.veth], { allowFailure: true });
  await host.ip(['link', 'add', plan.veth, 'mtu', `${CONTAINER_MTU}`, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', `${CONTAINER_MTU}`, 'netns', plan.netnsName]);
  await host.ip(['link', 'set', plan.veth, 'master', plan.bridge, 'up']);
  // A container reaching its own published port: with br_netfilter the DNATed packet is bridged
  // straight back out of the port it came in on, which a bridge drops unless hairpin is on.
  await host.ip(['link', 'set', plan.veth, 'type', 'bridge_slave', 'hairpin', 'on']);
  const inside = [
    `link set eth0 address ${macFor(plan.ip)}`,
    `addr add ${plan.ip}/${plan.subnet.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${plan.gateway} dev eth0`,
  ].join('\n');
  await run('ip', ['-n', plan.netnsName, '-batch', '-'], { timeoutMs: COMMAND_TIMEOUT_MS, input: `${inside}\n` });
}

/** A namespace with loopback up (engine/runtime's helper); replaces a leftover of the same name. */
export async function makeNetns(name: string): Promise<string> {
  await deleteNetns(name);
  return createNetns(name);
}

/** Removes the host-side veth (its peer goes with it) and the namespace; both may already be gone. */
export async function unwire(host: HostNs, veth: string | undefined, netnsName: string | undefined): Promise<void> {
  // The veth first: a namespace still held by a running process outlives `ip netns delete`, and
  // its eth0 would stay on the bridge with it.
  if (veth) await host.ip(['link', 'del', veth], { allowFailure: true });
  if (netnsName) await deleteNetns(netnsName);
}

/** Names of the host-side veths in the host namespace. */
export async function listVeths(host: HostNs): Promise<string[]> {
  const out = await host.ip(['-o', 'link', 'show', 'type', 'veth'], { allowFailure: true });
  return out.stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((n): n is string => n !== undefined);
}

export async function netnsExists(name: string): Promise<boolean> {
  return access(netnsPath(name)).then(
    () => true,
    () => false,
  );
}

/** Ports bound by processes of the host namespace, so a chosen host port avoids them. */
export async function boundHostPorts(host: HostNs): Promise<Set<string>> {
  const ports = new Set<string>();
  for (const [protocol, files] of [['tcp', ['tcp', 'tcp6']], ['udp', ['udp', 'udp6']]] as const) {
    for (const f of files) {
      const out = await host.exec('cat', [`/proc/net/${f}`], { allowFailure: true });
      for (const p of parseProcNet(protocol, out.stdout)) ports.add(p);
    }
  }
  return ports;
}
