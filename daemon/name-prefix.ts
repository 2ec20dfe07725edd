import { createHash } from 'node:crypto';

/**
 * The prefix carried by every name this daemon's engine creates in shared kernel namespaces:
 * runtime state dirs, cgroup parents, network namespaces, bridges, nft tables (docs/architecture.md, Name prefix).
 * Derived from the data dir so several daemons on one machine (the lab) never see each other's
 * objects. Short on purpose: a Linux interface name holds 15 bytes, and "t1a2b3-" leaves 8.
 */
export const NAME_PREFIX_LENGTH = 6;

export function namePrefixFor(dataDirAbsolute: string): string {
  const digest = createHash('sha256').update(dataDirAbsolute).digest('hex');
  return `t${digest.slice(0, NAME_PREFIX_LENGTH - 1)}`;
}
