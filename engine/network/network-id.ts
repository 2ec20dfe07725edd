import { createHash } from 'node:crypto';

/**
 * The node-local networks every node has, as dockerd's predefined ones: name → driver. A
 * container's network mode names one of them.
 */
export const BUILTIN_NETWORKS: readonly { name: string; driver: string }[] = [
  { name: 'bridge', driver: 'bridge' },
  { name: 'host', driver: 'host' },
  { name: 'none', driver: 'null' },
];

/** A network's ID: 64 hex digits that stay the same for its name, as a client expects of an ID. */
export function networkId(name: string): string {
  return createHash('sha256').update(`tswarm network ${name}`).digest('hex');
}

/** The driver of a built-in network (Docker's `type` attribute of its events). */
export function networkDriver(name: string): string {
  return BUILTIN_NETWORKS.find((n) => n.name === name)?.driver ?? name;
}
