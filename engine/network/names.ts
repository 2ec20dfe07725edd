import { createHash } from 'node:crypto';
import { TswarmError } from '../../lib/errors.js';
import { ownNetnsName } from '../netns/netns.js';

/** Linux caps interface names at 15 characters (IFNAMSIZ 16, with the NUL). */
export const IFNAME_CHARS_MAX = 15;
/** `<if-prefix>v<n>` with n up to 5 digits (a /16 has 65,534 hosts) must fit IFNAME_CHARS_MAX. */
const IF_PREFIX_CHARS_MAX = IFNAME_CHARS_MAX - 1 - 5;
/** The daemon's prefix, as engine/runtime accepts it. */
const PREFIX_PATTERN = /^[a-z0-9]{1,16}$/;

/**
 * Every kernel object one daemon makes carries its prefix, so several daemons on one machine (the
 * lab) never touch each other's: network namespaces, the bridge, veths and the nft table.
 */
export interface NetworkNames {
  prefix: string;
  bridge: string;
  nftTable: string;
  vethPattern: RegExp;
  veth(index: number): string;
  netns(containerId: string): string;
  /** What every container namespace name of this daemon starts with. */
  netnsPrefix: string;
}

/**
 * Interface names have 15 characters, prefixes up to 16: a prefix longer than fits is replaced by
 * a short hash of itself, which is as unique in practice and stays stable across restarts.
 */
function interfacePrefix(prefix: string): string {
  if (prefix.length <= IF_PREFIX_CHARS_MAX) return prefix;
  return `h${createHash('sha256')
    .update(prefix)
    .digest('hex')
    .slice(0, IF_PREFIX_CHARS_MAX - 1)}`;
}

export function networkNames(prefix: string): NetworkNames {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid name prefix "${prefix}". Use 1 to 16 lower-case letters and digits`,
    );
  }
  const ifp = interfacePrefix(prefix);
  return {
    prefix,
    bridge: `${ifp}-br0`,
    // nft identifiers must start with a letter and cannot be quoted; '_' never occurs in a prefix,
    // so `ts_<prefix>` cannot collide with another daemon's table.
    nftTable: /^[a-z]/.test(prefix) ? prefix : `ts_${prefix}`,
    vethPattern: new RegExp(`^${ifp}v(\\d{1,5})$`),
    veth: (index) => `${ifp}v${index}`,
    netns: (containerId) => ownNetnsName(prefix, containerId),
    netnsPrefix: `${prefix}-`,
  };
}
