import { TswarmError } from '../../lib/errors.js';
import { assert } from '../../lib/assert.js';

/** An IPv4 subnet as numbers: the network address and its prefix length. */
export interface Subnet {
  cidr: string;
  network: number;
  prefixLength: number;
  /** Addresses in the subnet, network and broadcast included. */
  size: number;
}

/** Smaller than a /30 leaves no address for a container after network, gateway and broadcast. */
const PREFIX_LENGTH_MAX = 30;
/** Larger than a /16 and the veth's number (the address's offset) would not fit 5 digits. */
const PREFIX_LENGTH_MIN = 16;

export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TswarmError('INVALID_ARGUMENT', `"${ip}" is not an IPv4 address. Give one such as 172.30.0.5`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  assert(Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'an IPv4 address is a 32-bit unsigned integer');
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseSubnet(cidr: string): Subnet {
  const [ip, len] = cidr.split('/');
  const prefixLength = Number(len);
  if (
    ip === undefined ||
    !Number.isInteger(prefixLength) ||
    prefixLength < PREFIX_LENGTH_MIN ||
    prefixLength > PREFIX_LENGTH_MAX
  ) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid bridge subnet "${cidr}". Give an IPv4 CIDR from /${PREFIX_LENGTH_MIN} to /${PREFIX_LENGTH_MAX}, such as 172.30.0.0/16`,
    );
  }
  const size = 2 ** (32 - prefixLength);
  const network = ipToNumber(ip);
  if (network % size !== 0) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `bridge subnet "${cidr}" has host bits set. Use its network address, ${numberToIp(network - (network % size))}/${prefixLength}`,
    );
  }
  return { cidr, network, prefixLength, size };
}

/** The gateway (the bridge's own address) is the first host address, as docker0's. */
export function gatewayOf(subnet: Subnet): string {
  return numberToIp(subnet.network + 1);
}

/** An address's place in the subnet; also the host-side veth's number, so names stay stable. */
export function offsetOf(subnet: Subnet, ip: string): number {
  const offset = ipToNumber(ip) - subnet.network;
  assert(offset > 1 && offset < subnet.size - 1, `${ip} is a container address inside ${subnet.cidr}`);
  return offset;
}

/**
 * Picks the next free container address after the last one handed out (wrapping), rather than the
 * lowest free one: a just-released address is reused last, so peers' stale ARP entries and
 * connections to the old holder have time to expire. Pure: the caller persists the result.
 */
export function allocateAddress(
  subnet: Subnet,
  taken: ReadonlySet<string>,
  lastOffset: number,
): { ip: string; offset: number } {
  const first = 2; // after the network address and the gateway
  const count = subnet.size - 3; // less network, gateway and broadcast
  const start = lastOffset >= first && lastOffset < first + count ? lastOffset - first + 1 : 0;
  for (let i = 0; i < count; i++) {
    const offset = first + ((start + i) % count);
    const ip = numberToIp(subnet.network + offset);
    if (!taken.has(ip)) return { ip, offset };
  }
  throw new TswarmError(
    'RESOURCE_EXHAUSTED',
    `no free address left in the bridge subnet ${subnet.cidr} (${count} in use). Remove unused containers, or give the daemon a larger subnet`,
  );
}

/** A MAC derived from the address, as Docker does (02:42 + IPv4): stable for a given address. */
export function macFor(ip: string): string {
  const n = ipToNumber(ip);
  const bytes = [0x02, 0x42, ...[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
