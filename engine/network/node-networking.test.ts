import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../lib/log.js';
import { run } from '../../lib/process/run.js';
import { PortProtocol } from '../../gen/tswarm/v1/objects.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { listNetns } from '../netns/netns.js';
import { makeTempDir, randomPrefix, removeTree } from '../testing/scratch.js';
import { NodeNetworking, type NodeNetworkingOptions } from './node-networking.js';
import { DYNAMIC_PORT_MAX, DYNAMIC_PORT_MIN } from './ports.js';
import { netnsExists } from './wiring.js';
import {
  deleteTestNetns,
  expectHi,
  makeTestNetns,
  pingOnce,
  startHiServer,
  stopProcess,
  tcpGet,
} from './testing/test-netns.js';

// Network safety: all host-side work happens in `hostNs`, a namespace this file makes and deletes.
const prefix = randomPrefix();
const subnet = '10.213.7.0/24';
let hostNs: string;
let dir: string;
let net: NodeNetworking;
const servers: ChildProcess[] = [];

const id = () => randomBytes(32).toString('hex');
const tcp = (hostPort: number, containerPort: number): PublishedPort => ({
  hostPort,
  containerPort,
  protocol: PortProtocol.PORT_PROTOCOL_TCP,
  hostIp: '',
});
const hostPath = () => `/run/netns/${hostNs}`;

function options(): NodeNetworkingOptions {
  return {
    namePrefix: prefix,
    stateDir: join(dir, 'state'),
    log: silentLogger(),
    bridgeSubnet: subnet,
    hostNetns: hostNs,
    hostResolvConfPath: join(dir, 'resolv.conf'),
  };
}

async function hostShow(args: string[]): Promise<string> {
  return (await run('ip', ['-n', hostNs, ...args], { timeoutMs: 5_000, allowFailure: true })).stdout;
}

async function nftRules(): Promise<string> {
  return (await run('nsenter', [`--net=${hostPath()}`, 'nft', 'list', 'ruleset'], { timeoutMs: 5_000 })).stdout;
}

beforeAll(async () => {
  hostNs = await makeTestNetns();
  dir = await makeTempDir('network');
  await writeFile(join(dir, 'resolv.conf'), 'search example.test\nnameserver 127.0.0.53\nnameserver 10.213.9.9\n');
  net = await NodeNetworking.open(options());
});

afterAll(async () => {
  servers.forEach(stopProcess);
  await net?.destroyAll().catch(() => undefined);
  for (const name of await listNetns(`${prefix}-`)) await run('ip', ['netns', 'delete', name], { allowFailure: true });
  if (hostNs) await deleteTestNetns(hostNs);
  if (dir) await removeTree(dir);
});

describe('NodeNetworking, bridge mode', () => {
  it('gives each container an address on the bridge; they reach each other and the gateway', async () => {
    const [a, b] = [id(), id()];
    const att = await net.attach(a, 'bridge', []);
    const btt = await net.attach(b, 'bridge', []);
    expect(att.netnsPath).toBe(`/run/netns/${prefix}-${a.slice(0, 12)}`);
    expect(att.ip).toMatch(/^10\.213\.7\.\d+$/);
    expect(btt.ip).not.toBe(att.ip);
    expect(await pingOnce(att.netnsPath!, btt.ip!)).toBe(true);
    expect(await pingOnce(btt.netnsPath!, net.gateway)).toBe(true);
    const inside = (await run('ip', ['-n', `${prefix}-${a.slice(0, 12)}`, '-o', 'link', 'show', 'eth0'])).stdout;
    expect(inside).toContain('mtu 1500');
    expect(att.resolvConf).toContain('nameserver 10.213.9.9');
    expect(att.resolvConf).not.toMatch(/^nameserver 127/m);
    await net.detach(a);
    await net.detach(b);
  });

  it('publishes ports: from the host, from 127.0.0.1, and from another container (hairpin)', async () => {
    const [server, client] = [id(), id()];
    const s = await net.attach(server, 'bridge', [tcp(8080, 80), tcp(0, 81)]);
    const c = await net.attach(client, 'bridge', []);
    servers.push(startHiServer(s.netnsPath!, 80), startHiServer(s.netnsPath!, 81));
    expect(s.ports[0]!.hostPort).toBe(8080);
    const chosen = s.ports[1]!.hostPort;
    expect(chosen).toBeGreaterThanOrEqual(DYNAMIC_PORT_MIN);
    expect(chosen).toBeLessThanOrEqual(DYNAMIC_PORT_MAX);
    await expectHi(hostPath(), net.gateway, 8080);
    await expectHi(hostPath(), '127.0.0.1', 8080);
    await expectHi(hostPath(), net.gateway, chosen);
    await expectHi(c.netnsPath!, net.gateway, 8080);
    await expectHi(s.netnsPath!, net.gateway, 8080); // a container to its own published port
    await net.detach(server);
    await net.detach(client);
  });

  it('refuses a host port another container publishes, naming it', async () => {
    const [a, b] = [id(), id()];
    await net.attach(a, 'bridge', [tcp(9090, 80)]);
    await expect(net.attach(b, 'bridge', [tcp(9090, 81)])).rejects.toThrow(
      new RegExp(`9090/tcp is already published by container ${a.slice(0, 12)}`),
    );
    expect(await netnsExists(`${prefix}-${b.slice(0, 12)}`)).toBe(false);
    // The same number on udp is another port.
    await net.attach(b, 'bridge', [{ ...tcp(9090, 81), protocol: PortProtocol.PORT_PROTOCOL_UDP }]);
    await net.detach(a);
    await net.detach(b);
  });

  it('refuses a host port a process of the host listens on, and leaves nothing behind', async () => {
    const listener = startHiServer(hostPath(), 9191);
    servers.push(listener);
    await expectHi(hostPath(), '127.0.0.1', 9191); // listening before the attach
    const c = id();
    await expect(net.attach(c, 'bridge', [tcp(9191, 80)])).rejects.toThrow(
      /host port 9191\/tcp is already in use by a process on this host/,
    );
    expect(await netnsExists(`${prefix}-${c.slice(0, 12)}`)).toBe(false);
    await expectHi(hostPath(), '127.0.0.1', 9191); // the host's service still answers
    stopProcess(listener);
  });

  it('detach leaves nothing: no namespace, veth, rule or lease', async () => {
    const a = id();
    const att = await net.attach(a, 'bridge', [tcp(7070, 80)]);
    expect(await nftRules()).toContain(`dnat to ${att.ip}:80`);
    await net.detach(a);
    expect(await netnsExists(`${prefix}-${a.slice(0, 12)}`)).toBe(false);
    expect(await hostShow(['-o', 'link', 'show', 'type', 'veth'])).not.toContain(`${prefix}v`);
    expect(await nftRules()).not.toContain('7070');
    expect(net.publishedPorts(a)).toEqual([]);
    expect(await readFile(join(dir, 'state', 'network.json'), 'utf8')).not.toContain(a); // lease released
    await net.detach(a); // twice is fine
  });

  it('host mode has no namespace; none leaves its loopback-only one to the OCI runtime', async () => {
    const [h, n] = [id(), id()];
    const host = await net.attach(h, 'host', [tcp(1234, 80)]);
    expect(host.netnsPath).toBeUndefined();
    expect(host.ports).toEqual([]);
    const none = await net.attach(n, 'none', []);
    // crun and runc make it with lo up (engine/runtime's tests run one); nothing is pinned or leased.
    expect(none.netnsPath).toBeUndefined();
    expect(await netnsExists(`${prefix}-${n.slice(0, 12)}`)).toBe(false);
    expect(await readFile(join(dir, 'state', 'network.json'), 'utf8')).not.toContain(n);
    expect(none.ip).toBeUndefined();
    await expect(net.attach(id(), 'none', [tcp(1, 2)])).rejects.toThrow(/cannot publish ports/);
    await net.detach(h);
    await net.detach(n);
  });
});

describe('NodeNetworking across restarts', () => {
  it('keeps leases and rules across reopen, and reconcile removes only what is dead', async () => {
    const [live, dead] = [id(), id()];
    const l = await net.attach(live, 'bridge', [tcp(6060, 80)]);
    const d = await net.attach(dead, 'bridge', [tcp(6061, 80)]);
    await net.close();
    // A stray namespace of the prefix, as a crash between `ip netns add` and the state write leaves.
    const stray = `${prefix}-${id().slice(0, 12)}`;
    await run('ip', ['netns', 'add', stray]);
    net = await NodeNetworking.open(options());
    const state = JSON.parse(await readFile(join(dir, 'state', 'network.json'), 'utf8')) as {
      containers: Record<string, { ip: string }>;
    };
    expect(state.containers[live]?.ip).toBe(l.ip);
    const fresh = await net.attach(id(), 'bridge', []);
    expect([l.ip, d.ip]).not.toContain(fresh.ip);
    await net.reconcile(new Set([live]));
    expect(await netnsExists(`${prefix}-${dead.slice(0, 12)}`)).toBe(false);
    expect(await netnsExists(stray)).toBe(false);
    expect(await netnsExists(`${prefix}-${live.slice(0, 12)}`)).toBe(true);
    const rules = await nftRules();
    expect(rules).toContain(`dnat to ${l.ip}:80`);
    expect(rules).not.toContain(`dnat to ${d.ip}:80`);
    servers.push(startHiServer(l.netnsPath!, 80));
    await expectHi(hostPath(), net.gateway, 6060);
    expect(await tcpGet(hostPath(), net.gateway, 6061)).toBe('');
    await net.detach(live);
  });

  it('destroyAll removes the bridge, the table and every namespace of the prefix', async () => {
    await net.attach(id(), 'bridge', [tcp(5050, 80)]);
    await net.destroyAll();
    expect(await listNetns(`${prefix}-`)).toEqual([]);
    expect(await hostShow(['link', 'show', 'dev', net.bridgeName])).toBe('');
    expect(await nftRules()).not.toContain(`table ip ${prefix}`);
    net = await NodeNetworking.open(options());
  });
});
