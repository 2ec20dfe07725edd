import { randomInt } from 'node:crypto';
import { TswarmError } from '../../lib/errors.js';
import { PortProtocol } from '../../gen/tswarm/v1/objects.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { ipToNumber } from './ipam.js';
import { protocolName } from './nft-ruleset.js';

/**
 * Where a host port of 0 is chosen from: Linux's default ephemeral range, as Docker does, so a
 * chosen port rarely lands on a well-known service's.
 */
export const DYNAMIC_PORT_MIN = 32768;
export const DYNAMIC_PORT_MAX = 60999;

const PORT_MAX = 65535;

/** A published port checked and with its defaults filled in (protocol tcp). */
export function normalizePort(p: PublishedPort): PublishedPort {
  const protocol = p.protocol === PortProtocol.PORT_PROTOCOL_UNSPECIFIED ? PortProtocol.PORT_PROTOCOL_TCP : p.protocol;
  if (
    protocol !== PortProtocol.PORT_PROTOCOL_TCP &&
    protocol !== PortProtocol.PORT_PROTOCOL_UDP &&
    protocol !== PortProtocol.PORT_PROTOCOL_SCTP
  ) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `cannot publish ${p.hostPort}:${p.containerPort}: unknown protocol ${String(p.protocol)}. Use tcp or udp`,
    );
  }
  if (protocol === PortProtocol.PORT_PROTOCOL_SCTP) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `cannot publish ${p.hostPort}:${p.containerPort}/sctp: only tcp and udp ports can be published. Use tcp or udp`,
    );
  }
  if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > PORT_MAX) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid container port ${p.containerPort}. Give a port from 1 to ${PORT_MAX}`,
    );
  }
  if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > PORT_MAX) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid host port ${p.hostPort}. Give a port from 1 to ${PORT_MAX}, or 0 to have one chosen`,
    );
  }
  if (p.hostIp !== '' && p.hostIp !== '0.0.0.0') ipToNumber(p.hostIp); // throws a clear error for IPv6 or garbage
  return { ...p, protocol, hostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp };
}

/** Two bindings clash when protocol and port match and their addresses overlap ('' is every address). */
function clashes(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp)
  );
}

export interface HeldPort {
  containerId: string;
  port: PublishedPort;
}

function describe(p: PublishedPort): string {
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}/${protocolName(p.protocol)}`;
}

/** Refuses a host port another container (or the same request) already publishes, naming the holder. */
export function checkConflicts(
  containerId: string,
  wanted: readonly PublishedPort[],
  held: readonly HeldPort[],
  nameHolder: (attachmentId: string) => string = (id) => `container ${id.slice(0, 12)}`,
): void {
  const seen: HeldPort[] = [...held];
  for (const port of wanted) {
    if (port.hostPort === 0) continue;
    const holder = seen.find((h) => clashes(h.port, port));
    if (holder) {
      const who = holder.containerId === containerId ? 'this container already' : nameHolder(holder.containerId);
      throw new TswarmError(
        'CONFLICT',
        `host port ${describe(port)} is already published by ${who}. Choose another host port, or 0 to have one chosen`,
      );
    }
    seen.push({ containerId, port });
  }
}

/**
 * Refuses an explicit host port a process of the host listens on (sshd on 22): a DNAT rule for it
 * would silently take that service's outside traffic away. Docker fails the same way ("address
 * already in use"); `inUse` is from /proc/net, as chooseHostPorts reads it.
 */
export function checkHostBound(wanted: readonly PublishedPort[], inUse: ReadonlySet<string>): void {
  for (const port of wanted) {
    if (port.hostPort === 0 || !inUse.has(key(port))) continue;
    throw new TswarmError(
      'CONFLICT',
      `host port ${describe(port)} is already in use by a process on this host. Choose another host port, or 0 to have one chosen`,
    );
  }
}

/**
 * Fills in host ports of 0 with free ones: not published by any container of this daemon and not
 * bound by a process of the host (`inUse`, from /proc/net). Starts at a random point so two
 * daemons picking at once rarely race for the same port; bounded by the range's size.
 */
export function chooseHostPorts(
  wanted: readonly PublishedPort[],
  held: readonly HeldPort[],
  inUse: ReadonlySet<string>,
): PublishedPort[] {
  const taken = new Set([...held.map((h) => key(h.port)), ...inUse]);
  for (const p of wanted) if (p.hostPort !== 0) taken.add(key(p));
  const span = DYNAMIC_PORT_MAX - DYNAMIC_PORT_MIN + 1;
  return wanted.map((p) => {
    if (p.hostPort !== 0) return p;
    const start = randomInt(span);
    for (let i = 0; i < span; i++) {
      const candidate = { ...p, hostPort: DYNAMIC_PORT_MIN + ((start + i) % span) };
      if (!taken.has(key(candidate))) {
        taken.add(key(candidate));
        return candidate;
      }
    }
    throw new TswarmError(
      'RESOURCE_EXHAUSTED',
      `no free ${protocolName(p.protocol)} host port left from ${DYNAMIC_PORT_MIN} to ${DYNAMIC_PORT_MAX}. Publish an explicit host port, or free some`,
    );
  });
}

/** Ports are compared by protocol and number only: a port bound on one address is avoided on all. */
function key(p: PublishedPort): string {
  return `${protocolName(p.protocol)}/${p.hostPort}`;
}

/**
 * Host ports bound in the host namespace, from /proc/net/{tcp,udp}{,6} as read by `cat` run there:
 * listening TCP sockets (state 0A) and every bound UDP socket, as `tcp/PORT` / `udp/PORT`.
 */
export function parseProcNet(protocol: 'tcp' | 'udp', text: string): string[] {
  const ports: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    // Listening TCP (0A); unconnected UDP (07): a connected UDP socket is a client's ephemeral port.
    if (!local || state !== (protocol === 'tcp' ? '0A' : '07')) continue;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (port > 0) ports.push(`${protocol}/${port}`);
  }
  return ports;
}
