import { access } from 'node:fs/promises';
import { createNetns, deleteNetns, netnsPath } from '../netns/netns.js';
import { run } from '../../lib/process/run.js';
import { TswarmError } from '../../lib/errors.js';
import type { HostNs } from './host-ns.js';
import { COMMAND_TIMEOUT_MS } from './host-ns.js';
import { macFor, type Subnet } from './ipam.js';
import { parseProcNet } from './ports.js';

/** The container's MTU: a plain bridge on a 1500-byte underlay (overlays use 1450, docs/lab.md). */
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
 * and a default route via the gateway. Two ip processes (one batch per side) rather than one per
 * step: each spawn costs milliseconds on the path of every container start. A leftover veth of
 * the same name (a crash mid-attach) is removed and the batch tried once more. On failure the
 * caller undoes with `unwire`.
 */
export async function wireVeth(host: HostNs, plan: VethPlan): Promise<void> {
  const hostSide = [
    `link add ${plan.veth} mtu ${CONTAINER_MTU} type veth peer name eth0 mtu ${CONTAINER_MTU} netns ${plan.netnsName}`,
    `link set ${plan.veth} master ${plan.bridge} up`,
    // A container reaching its own published port: with br_netfilter the DNATed packet is bridged
    // straight back out of the port it came in on, which a bridge drops unless hairpin is on.
    `link set ${plan.veth} type bridge_slave hairpin on`,
  ].join('\n');
  const first = await host.ip(['-batch', '-'], { input: `${hostSide}\n`, allowFailure: true });
  if (first.code !== 0) {
    if (!/exists/i.test(first.stderr))
      throw new TswarmError('INTERNAL', `wiring ${plan.veth} to ${plan.bridge} failed: ${first.stderr.trim()}`);
    await host.ip(['link', 'del', plan.veth], { allowFailure: true });
    await host.ip(['-batch', '-'], { input: `${hostSide}\n` });
  }
  const inside = [
    `link set eth0 address ${macFor(plan.ip)}`,
    `addr add ${plan.ip}/${plan.subnet.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${plan.gateway} dev eth0`,
  ].join('\n');
  // nsenter rather than `ip -n`, which also remounts /sys in a mount namespace of its own.
  await run('nsenter', [`--net=${netnsPath(plan.netnsName)}`, 'ip', '-batch', '-'], {
    timeoutMs: COMMAND_TIMEOUT_MS,
    input: `${inside}\n`,
  });
}

/** A namespace with loopback up (engine/runtime's helper); replaces a leftover of the same name. */
export async function makeNetns(name: string): Promise<string> {
  // Names come from fresh IDs: a leftover is rare (a crash mid-attach), so look before deleting.
  if (await netnsExists(name)) await deleteNetns(name);
  return createNetns(name);
}

/** Removes the host-side veth (its peer goes with it) and the namespace; both may already be gone. */
export async function unwire(host: HostNs, veth: string | undefined, netnsName: string | undefined): Promise<void> {
  // The veth first: a namespace still held by a running process outlives `ip netns delete`, and
  // its eth0 would stay on the bridge with it. One ip process for both; -force goes on past a
  // veth already gone.
  if (veth && netnsName && !host.netnsName) {
    await host.ip(['-force', '-batch', '-'], {
      input: `link del ${veth}\nnetns delete ${netnsName}\n`,
      allowFailure: true,
    });
    if (await netnsExists(netnsName)) await deleteNetns(netnsName);
    return;
  }
  if (veth) await host.ip(['link', 'del', veth], { allowFailure: true });
  // Looked at first: a detach of what holds no namespace (host, none) then costs no ip process.
  if (netnsName && (await netnsExists(netnsName))) await deleteNetns(netnsName);
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
  for (const [protocol, files] of [
    ['tcp', ['tcp', 'tcp6']],
    ['udp', ['udp', 'udp6']],
  ] as const) {
    for (const f of files) {
      const out = await host.exec('cat', [`/proc/net/${f}`], { allowFailure: true });
      for (const p of parseProcNet(protocol, out.stdout)) ports.add(p);
    }
  }
  return ports;
}
