import { networkInterfaces } from 'node:os';
import { TswarmError } from '../lib/errors.js';

export const SWARM_PORT_DEFAULT = 2377;

/** Splits "HOST[:PORT]" (IPv4 or a name) with the swarm port as default. */
export function splitHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^([^\s:]+)(?::(\d{1,5}))?$/.exec(value.trim());
  const port = m?.[2] === undefined ? SWARM_PORT_DEFAULT : Number(m[2]);
  if (!m?.[1] || port < 1 || port > 65535)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid ${what} "${value}". Use ADDR or ADDR:PORT, e.g. 192.168.77.11:2377`,
    );
  return { host: m[1], port };
}

/**
 * The machine's non-loopback IPv4 addresses, by interface — leaving out the interfaces this
 * daemon made itself (its bridges and veths carry its name prefix), as Docker ignores docker0.
 */
export function hostAddresses(ownPrefix = ''): { iface: string; addr: string }[] {
  const out: { iface: string; addr: string }[] = [];
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    if (ownPrefix !== '' && iface.startsWith(ownPrefix)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push({ iface, addr: a.address });
  }
  return out;
}

/**
 * The address other nodes reach this one at. Given, or — as `docker swarm init` does — the one
 * address the host has; with several, the user must choose, and the error lists them.
 */
export function chooseAdvertiseAddr(given: string, listenPort: number, ownPrefix = ''): string {
  if (given) {
    const { host, port } = splitHostPort(given.includes(':') ? given : `${given}:${listenPort}`, '--advertise-addr');
    return `${host}:${port}`;
  }
  const addrs = hostAddresses(ownPrefix);
  if (addrs.length === 1) return `${addrs[0]!.addr}:${listenPort}`;
  if (addrs.length === 0)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      'this host has no non-loopback IPv4 address to advertise. Give one with --advertise-addr',
    );
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `this host has several addresses (${addrs.map((a) => `${a.addr} on ${a.iface}`).join(', ')}). Choose one with --advertise-addr`,
  );
}
