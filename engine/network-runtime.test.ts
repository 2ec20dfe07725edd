import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../lib/log.js';
import { PortProtocol } from '../gen/tswarm/v1/objects.js';
import { ContainerRuntime } from './runtime/runtime.js';
import { makeBusyboxImage } from './runtime/testing/busybox-rootfs.js';
import { makeTempDir, randomPrefix, removePrefixCgroups, removeTree } from './testing/scratch.js';
import { unmountTree } from './runtime/rootfs.js';
import { NodeNetworking } from './network/node-networking.js';
import { deleteTestNetns, expectHi, makeTestNetns } from './network/testing/test-netns.js';

// A real container (crun under conmon, busybox image) on the bridge, with a published port.
// Network safety: the node's "host" namespace is one this test makes; the root namespace is untouched.
const prefix = randomPrefix();
let hostNs: string;
let dir: string;
let rt: ContainerRuntime | undefined;
let net: NodeNetworking | undefined;

beforeAll(async () => {
  hostNs = await makeTestNetns();
  dir = await makeTempDir('network-real');
  net = await NodeNetworking.open({
    namePrefix: prefix,
    stateDir: join(dir, 'net'),
    log: silentLogger(),
    bridgeSubnet: '10.213.8.0/24',
    hostNetns: hostNs,
  });
  rt = await ContainerRuntime.open({ root: join(dir, 'engine'), namePrefix: prefix, log: silentLogger() });
});

afterAll(async () => {
  if (rt) {
    for (const c of rt.list({ all: true })) await rt.remove(c.id, { force: true }).catch(() => undefined);
    rt.close();
  }
  await net?.destroyAll().catch(() => undefined);
  await removePrefixCgroups(prefix);
  if (hostNs) await deleteTestNetns(hostNs);
  if (dir) {
    await unmountTree(dir);
    await removeTree(dir);
  }
});

it('a real container on the bridge answers on its published port and from a peer', async () => {
  const image = await makeBusyboxImage(join(dir, 'image'));
  const key = randomBytes(32).toString('hex');
  const ports = [{ hostPort: 0, containerPort: 80, protocol: PortProtocol.PORT_PROTOCOL_TCP, hostIp: '' }];
  const att = await net!.attach(key, 'bridge', ports);
  expect(att.ports[0]!.hostPort).toBeGreaterThan(0);
  const spec = { command: ['nc', '-ll', '-p', '80', '-e', 'echo', 'hi'] };
  const id = await rt!.create({
    config: { spec, networkMode: 'bridge', ports: att.ports },
    image,
    netnsPath: att.netnsPath,
    ip: att.ip,
    resolvConfContent: att.resolvConf,
  });
  await rt!.start(id);
  await expectHi(`/run/netns/${hostNs}`, net!.gateway, att.ports[0]!.hostPort);
  const peer = await net!.attach(randomBytes(32).toString('hex'), 'bridge', []);
  await expectHi(peer.netnsPath!, att.ip!, 80);
  await rt!.remove(id, { force: true });
  await net!.detach(key);
});
