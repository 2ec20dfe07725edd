import { readFile } from 'node:fs/promises';
import type { Logger } from '../../lib/log.js';
import { TswarmError } from '../../lib/errors.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import type { Attachment, BridgeAddress, ContainerNetworking, NetworkMode } from '../network-contract.js';
import { listNetns } from '../netns/netns.js';
import { HostNs } from './host-ns.js';
import { allocateAddress, gatewayOf, macFor, parseSubnet, type Subnet } from './ipam.js';
import { networkNames, type NetworkNames } from './names.js';
import { protocolName, renderDeleteTable, renderRuleset, type PortForward } from './nft-ruleset.js';
import { checkConflicts, checkHostBound, chooseHostPorts, normalizePort, type HeldPort } from './ports.js';
import { containerResolvConf } from '../netns/resolv-conf.js';
import { leasedAddresses, loadState, saveState, type NetworkRecord, type NetworkState } from './state.js';
import { boundHostPorts, ensureBridge, listVeths, makeNetns, netnsExists, unwire, wireVeth } from './wiring.js';

export interface NodeNetworkingOptions {
  /** The daemon's name prefix: on the bridge, veths, namespaces and the nft table. */
  namePrefix: string;
  /** Where the node's network state (leases, published ports) is kept, e.g. <data-dir>/engine/network. */
  stateDir: string;
  log: Logger;
  /** The node-local bridge network (docs/architecture.md, "Address plan"). */
  bridgeSubnet?: string;
  /**
   * The namespace that is "the host" for this daemon (a lab host, a test's namespace); the root
   * namespace when absent. The bridge, veths, nft table and sysctls are all made there.
   */
  hostNetns?: string;
  /** The host's resolv.conf, read at each attach; a parameter so tests need not depend on the machine's. */
  hostResolvConfPath?: string;
}

/** The node-local bridge network's subnet when the daemon is given none (what the Engine API reports for `bridge`). */
export const DEFAULT_SUBNET = '172.30.0.0/16';

/**
 * Every container of the node goes through here for its network: a namespace
 * made before its process runs, and in bridge mode a veth on the node's bridge, an address from
 * the subnet, outbound NAT and published ports through the daemon's own nft table. State is a
 * single file, so a restarted daemon finds its leases and re-programs the same rules; containers
 * outlive the daemon, so close() leaves their networking alone.
 */
export class NodeNetworking implements ContainerNetworking {
  private queue: Promise<unknown> = Promise.resolve();
  private holderName: ((attachmentId: string) => string | undefined) | undefined;

  private constructor(
    private readonly o: Required<Omit<NodeNetworkingOptions, 'hostNetns'>>,
    private readonly names: NetworkNames,
    private readonly host: HostNs,
    private readonly subnet: Subnet,
    private state: NetworkState,
  ) {}

  static async open(options: NodeNetworkingOptions): Promise<NodeNetworking> {
    const names = networkNames(options.namePrefix);
    const subnet = parseSubnet(options.bridgeSubnet ?? DEFAULT_SUBNET);
    const state = await loadState(options.stateDir, subnet.cidr);
    const o = { bridgeSubnet: subnet.cidr, hostResolvConfPath: '/etc/resolv.conf', ...options };
    const net = new NodeNetworking(o, names, new HostNs(options.hostNetns), subnet, state);
    await ensureBridge(net.host, names.bridge, subnet, gatewayOf(subnet));
    await net.programRules();
    return net;
  }

  get bridgeName(): string {
    return this.names.bridge;
  }

  get gateway(): string {
    return gatewayOf(this.subnet);
  }

  attach(containerId: string, mode: NetworkMode, ports: readonly PublishedPort[]): Promise<Attachment> {
    return this.serial(() => this.attachLocked(containerId, mode, ports));
  }

  detach(containerId: string): Promise<void> {
    return this.serial(() => this.detachLocked(containerId));
  }

  reconcile(liveContainerIds: ReadonlySet<string>): Promise<void> {
    return this.serial(() => this.reconcileLocked(liveContainerIds));
  }

  addressOf(containerId: string): BridgeAddress | undefined {
    const ip = this.state.containers[containerId]?.ip;
    if (ip === undefined) return undefined;
    return { ip, gateway: this.gateway, prefixLength: this.subnet.prefixLength, mac: macFor(ip) };
  }

  /** The published ports of every container, as bound: for listings and `port` commands. */
  publishedPorts(containerId: string): PublishedPort[] {
    return [...(this.state.containers[containerId]?.ports ?? [])];
  }

  /** Containers' networking stays: they outlive the daemon. Waits for a change in progress. */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  /** Tests and teardown: removes every container's networking, the bridge and the nft table. */
  destroyAll(): Promise<void> {
    return this.serial(async () => {
      for (const [id, r] of Object.entries(this.state.containers)) {
        await unwire(this.host, r.veth, r.netnsName);
        delete this.state.containers[id];
      }
      for (const name of await listNetns(this.names.netnsPrefix)) await unwire(this.host, undefined, name);
      for (const veth of await listVeths(this.host))
        if (this.names.vethPattern.test(veth)) await unwire(this.host, veth, undefined);
      await this.host.ip(['link', 'del', this.names.bridge], { allowFailure: true });
      await this.host.exec('nft', ['-f', '-'], { input: renderDeleteTable(this.names.nftTable), allowFailure: true });
      await saveState(this.o.stateDir, this.state);
    });
  }

  /** One change at a time: attach, detach and reconcile read and rewrite the same state and table. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async attachLocked(
    containerId: string,
    mode: NetworkMode,
    wanted: readonly PublishedPort[],
  ): Promise<Attachment> {
    if (this.state.containers[containerId]) {
      throw new TswarmError(
        'ALREADY_EXISTS',
        `container ${containerId.slice(0, 12)} is already attached to the network. Detach it first`,
      );
    }
    const hostResolv = await readFile(this.o.hostResolvConfPath, 'utf8').catch(() => '');
    if (mode === 'host') {
      if (wanted.length > 0)
        this.o.log.warn({ container: containerId }, 'published ports are ignored in host network mode');
      await this.commit(containerId, { mode, netnsName: undefined, ip: undefined, veth: undefined, ports: [] });
      // On the host's network, its own resolvers (even on loopback) are reachable.
      return { netnsPath: undefined, ip: undefined, extraHosts: [], resolvConf: hostResolv, ports: [] };
    }
    if (mode === 'none') {
      if (wanted.length > 0)
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'a container with network mode "none" cannot publish ports. Use the bridge network, or drop -p',
        );
      // Loopback only: the OCI runtime makes that namespace itself when the container starts (it
      // brings lo up) and it ends with the container's last process, so nothing here is made, held
      // or recorded — a pinned one cost a namespace and two state writes per container.
      return {
        netnsPath: undefined,
        ip: undefined,
        extraHosts: [],
        resolvConf: containerResolvConf(hostResolv),
        ports: [],
      };
    }
    const ports = await this.bindPorts(containerId, wanted);
    const record = this.leaseAddress(containerId, ports);
    // Persisted before anything is made: after a crash, reconcile finds and removes what follows.
    await this.commit(containerId, record);
    try {
      const netnsPath = await makeNetns(record.netnsName!);
      if (record.ip && record.veth) {
        const plan = {
          netnsName: record.netnsName!,
          veth: record.veth,
          bridge: this.names.bridge,
          ip: record.ip,
          subnet: this.subnet,
          gateway: this.gateway,
        };
        await wireVeth(this.host, plan);
        if (ports.length > 0) await this.programRules();
      }
      this.o.log.info(
        { container: containerId, mode, ip: record.ip, ports: ports.length },
        'container network attached',
      );
      return { netnsPath, ip: record.ip, extraHosts: [], resolvConf: containerResolvConf(hostResolv), ports };
    } catch (err) {
      await this.undo(containerId, record);
      throw err;
    }
  }

  private async bindPorts(containerId: string, wanted: readonly PublishedPort[]): Promise<PublishedPort[]> {
    const normalized = wanted.map(normalizePort);
    const held = this.heldPorts();
    checkConflicts(containerId, normalized, held, (id) => `container ${this.holderName?.(id) ?? id.slice(0, 12)}`);
    const inUse = normalized.length > 0 ? await boundHostPorts(this.host) : new Set<string>();
    checkHostBound(normalized, inUse);
    return chooseHostPorts(normalized, held, inUse);
  }

  /** The IPAM step: the next free address, and the veth numbered after it (stable names). */
  private leaseAddress(containerId: string, ports: PublishedPort[]): NetworkRecord {
    const { ip, offset } = allocateAddress(this.subnet, leasedAddresses(this.state), this.state.lastOffset);
    this.state.lastOffset = offset;
    return { mode: 'bridge', netnsName: this.names.netns(containerId), ip, veth: this.names.veth(offset), ports };
  }

  private async undo(containerId: string, record: NetworkRecord): Promise<void> {
    await unwire(this.host, record.veth, record.netnsName);
    delete this.state.containers[containerId];
    await saveState(this.o.stateDir, this.state);
    if (record.ports.length > 0)
      await this.programRules().catch((err: unknown) => this.o.log.warn({ err }, 'could not re-program the nft table'));
  }

  private async detachLocked(containerId: string): Promise<void> {
    const record = this.state.containers[containerId];
    if (!record) {
      // Not ours (or already detached), but a namespace of that name may be left by a crash.
      await unwire(this.host, undefined, this.names.netns(containerId));
      return;
    }
    await unwire(this.host, record.veth, record.netnsName);
    delete this.state.containers[containerId];
    await saveState(this.o.stateDir, this.state);
    if (record.ports.length > 0) await this.programRules();
    this.o.log.info({ container: containerId }, 'container network detached');
  }

  private async reconcileLocked(live: ReadonlySet<string>): Promise<void> {
    for (const [id, record] of Object.entries(this.state.containers)) {
      if (live.has(id)) continue;
      await unwire(this.host, record.veth, record.netnsName);
      delete this.state.containers[id];
      this.o.log.info({ container: id }, 'removed the network of a container that is gone');
    }
    await saveState(this.o.stateDir, this.state);
    await this.removeStrays(live);
    await ensureBridge(this.host, this.names.bridge, this.subnet, this.gateway);
    await this.programRules();
    await this.checkLive();
  }

  /** Namespaces and veths of this prefix that no record owns: leftovers of a crash mid-attach. */
  private async removeStrays(live: ReadonlySet<string>): Promise<void> {
    const records = Object.values(this.state.containers);
    const ownNetns = new Set(records.map((r) => r.netnsName));
    const liveNetns = new Set([...live].map((id) => this.names.netns(id)));
    for (const name of await listNetns(this.names.netnsPrefix)) {
      // A live container's namespace made by someone else (engine/runtime's own) is not ours to remove.
      if (!ownNetns.has(name) && !liveNetns.has(name)) await unwire(this.host, undefined, name);
    }
    const ownVeths = new Set(records.map((r) => r.veth));
    for (const veth of await listVeths(this.host)) {
      if (this.names.vethPattern.test(veth) && !ownVeths.has(veth)) await unwire(this.host, veth, undefined);
    }
  }

  /** A live container whose namespace vanished cannot be re-wired from here; say so plainly. */
  private async checkLive(): Promise<void> {
    for (const [id, record] of Object.entries(this.state.containers)) {
      if (record.netnsName && !(await netnsExists(record.netnsName))) {
        this.o.log.warn(
          { container: id, netns: record.netnsName },
          'a live container lost its network namespace; restart it to get networking back',
        );
      }
    }
  }

  private async commit(containerId: string, record: NetworkRecord): Promise<void> {
    this.state.containers[containerId] = record;
    await saveState(this.o.stateDir, this.state);
  }

  nameHolders(describe: (attachmentId: string) => string | undefined): void {
    this.holderName = describe;
  }

  private heldPorts(): HeldPort[] {
    return Object.entries(this.state.containers).flatMap(([containerId, r]) =>
      r.ports.map((port) => ({ containerId, port })),
    );
  }

  /** The whole table from the state, in one transaction (nft-ruleset.ts). */
  private async programRules(): Promise<void> {
    const forwards: PortForward[] = Object.values(this.state.containers).flatMap((r) =>
      r.ip === undefined
        ? []
        : r.ports.map((p) => ({
            protocol: protocolName(p.protocol),
            hostIp: p.hostIp,
            hostPort: p.hostPort,
            containerIp: r.ip!,
            containerPort: p.containerPort,
          })),
    );
    const script = renderRuleset({
      table: this.names.nftTable,
      bridge: this.names.bridge,
      subnetCidr: this.subnet.cidr,
      forwards,
    });
    await this.host.exec('nft', ['-f', '-'], { input: script });
  }
}
