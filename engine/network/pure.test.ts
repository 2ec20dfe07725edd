import { describe, expect, it } from 'vitest';
import { PortProtocol } from '../../gen/tswarm/v1/objects.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { allocateAddress, gatewayOf, macFor, offsetOf, parseSubnet } from './ipam.js';
import { networkNames, IFNAME_CHARS_MAX } from './names.js';
import { renderRuleset } from './nft-ruleset.js';
import { checkConflicts, checkHostBound, chooseHostPorts, normalizePort, parseProcNet } from './ports.js';
import { containerResolvConf } from '../netns/resolv-conf.js';

const tcp = (hostPort: number, containerPort = 80, hostIp = ''): PublishedPort => ({
  hostPort,
  containerPort,
  protocol: PortProtocol.PORT_PROTOCOL_TCP,
  hostIp,
});

describe('ipam', () => {
  const s = parseSubnet('172.30.0.0/16');
  it('hands out addresses after the last, skipping taken ones, and wraps', () => {
    expect(gatewayOf(s)).toBe('172.30.0.1');
    expect(allocateAddress(s, new Set(), 0)).toEqual({ ip: '172.30.0.2', offset: 2 });
    expect(allocateAddress(s, new Set(['172.30.0.3']), 2)).toEqual({ ip: '172.30.0.4', offset: 4 });
    expect(allocateAddress(s, new Set(), 65534).ip).toBe('172.30.0.2');
    expect(offsetOf(s, '172.30.1.5')).toBe(261);
  });
  it('says when the subnet is full, and refuses bad subnets', () => {
    const small = parseSubnet('10.0.0.0/30');
    expect(allocateAddress(small, new Set(), 0).ip).toBe('10.0.0.2');
    expect(() => allocateAddress(small, new Set(['10.0.0.2']), 2)).toThrow(/no free address/);
    expect(() => parseSubnet('10.0.0.1/24')).toThrow(/host bits set/);
    expect(() => parseSubnet('10.0.0.0/8')).toThrow(/invalid bridge subnet/);
  });
  it('derives the MAC from the address', () => {
    expect(macFor('172.30.0.2')).toBe('02:42:ac:1e:00:02');
  });
});

describe('names', () => {
  it('fit the kernel limit, even for the longest prefix', () => {
    for (const p of ['t1a2b3', 'abcdefghijklmnop']) {
      const n = networkNames(p);
      expect(n.bridge.length).toBeLessThanOrEqual(IFNAME_CHARS_MAX);
      expect(n.veth(65534).length).toBeLessThanOrEqual(IFNAME_CHARS_MAX);
      expect(n.vethPattern.test(n.veth(12))).toBe(true);
    }
    expect(networkNames('t1a2b3').netns('0123456789abcdef')).toBe('t1a2b3-0123456789ab');
    expect(networkNames('1abc').nftTable).toBe('ts_1abc');
    expect(() => networkNames('Bad-Prefix')).toThrow(/invalid name prefix/);
  });
});

describe('nft ruleset', () => {
  it('replaces the whole table and DNATs each published port', () => {
    const text = renderRuleset({
      table: 't1',
      bridge: 't1-br0',
      subnetCidr: '172.30.0.0/16',
      forwards: [
        { protocol: 'udp', hostIp: '192.168.77.11', hostPort: 53, containerIp: '172.30.0.2', containerPort: 5353 },
      ],
    });
    expect(text.startsWith('table ip t1 {}\ndelete table ip t1\n')).toBe(true);
    expect(text).toContain('ip daddr 192.168.77.11 udp dport 53 dnat to 172.30.0.2:5353');
    expect(text).toContain('ip saddr 172.30.0.0/16 ip daddr 172.30.0.0/16 ct status dnat masquerade');
  });
});

describe('ports', () => {
  it('fills defaults and refuses what cannot work', () => {
    expect(normalizePort({ ...tcp(80), protocol: PortProtocol.PORT_PROTOCOL_UNSPECIFIED, hostIp: '0.0.0.0' })).toEqual(
      tcp(80),
    );
    expect(() => normalizePort(tcp(80, 0))).toThrow(/invalid container port/);
    expect(() => normalizePort({ ...tcp(80), protocol: PortProtocol.PORT_PROTOCOL_SCTP })).toThrow(/only tcp and udp/);
    expect(() => normalizePort({ ...tcp(80), protocol: 99 as PortProtocol })).toThrow(/unknown protocol 99/);
    expect(() => normalizePort(tcp(80, 80, '::1'))).toThrow(/not an IPv4 address/);
  });
  it('finds conflicts across containers and inside one request', () => {
    const held = [{ containerId: 'aaaaaaaaaaaaffff', port: tcp(8080) }];
    expect(() => checkConflicts('b', [tcp(8080)], held)).toThrow(
      /8080\/tcp is already published by container aaaaaaaaaaaa/,
    );
    expect(() => checkConflicts('b', [tcp(8080, 80, '10.0.0.1')], held)).toThrow(/already published/);
    expect(() => checkConflicts('b', [tcp(81), tcp(81)], [])).toThrow(/this container already/);
    expect(() =>
      checkConflicts('b', [tcp(8080, 80, '10.0.0.1')], [{ containerId: 'a', port: tcp(8080, 80, '10.0.0.2') }]),
    ).not.toThrow();
  });
  it('refuses an explicit host port a host process listens on', () => {
    const bound = new Set(['tcp/22', 'udp/53']);
    expect(() => checkHostBound([tcp(22)], bound)).toThrow(
      /host port 22\/tcp is already in use by a process on this host/,
    );
    expect(() => checkHostBound([{ ...tcp(53), protocol: PortProtocol.PORT_PROTOCOL_UDP }], bound)).toThrow(/53\/udp/);
    expect(() => checkHostBound([tcp(53), tcp(0), tcp(8080)], bound)).not.toThrow();
  });
  it('chooses free host ports, avoiding held and bound ones', () => {
    const chosen = chooseHostPorts([tcp(0), tcp(0)], [], new Set(['tcp/40000']));
    expect(chosen[0]!.hostPort).not.toBe(chosen[1]!.hostPort);
    expect(chosen.map((p) => p.hostPort)).not.toContain(40000);
  });
  it('reads listening ports from /proc/net', () => {
    const text =
      '  sl  local_address rem_address   st\n   0: 00000000:1F90 00000000:0000 0A\n   1: 0100007F:0050 0100007F:9C40 01\n';
    expect(parseProcNet('tcp', text)).toEqual(['tcp/8080']);
    // UDP: a bound socket (07) counts; a connected one (01) is some client's ephemeral port.
    const udp =
      '  sl  local_address rem_address   st\n   0: 00000000:0035 00000000:0000 07\n   1: 0100007F:D431 08080808:0035 01\n';
    expect(parseProcNet('udp', udp)).toEqual(['udp/53']);
  });
});

describe('resolv.conf', () => {
  it('drops loopback nameservers and keeps the rest', () => {
    const out = containerResolvConf(
      'search a.test\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.1.1.1\noptions ndots:2\n',
    );
    expect(out).toContain('nameserver 10.1.1.1');
    expect(out).toContain('search a.test');
    expect(out).toContain('options ndots:2');
    expect(out).not.toMatch(/^nameserver (127|::1)/m);
  });
  it('puts in no public resolver when none is left, and says why', () => {
    const out = containerResolvConf('nameserver 127.0.0.53\n');
    expect(out).not.toMatch(/^nameserver/m);
    expect(out).toMatch(/no usable nameserver/);
  });
});
