import { PortProtocol } from '../../gen/tswarm/v1/objects.js';

/** One published port as DNAT needs it: where it is reached on the host, where it goes. */
export interface PortForward {
  protocol: 'tcp' | 'udp';
  /** Empty: every address of the host. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface RulesetInput {
  table: string;
  bridge: string;
  subnetCidr: string;
  forwards: readonly PortForward[];
}

export function protocolName(p: PortProtocol): 'tcp' | 'udp' {
  return p === PortProtocol.PORT_PROTOCOL_UDP ? 'udp' : 'tcp';
}

function forwardRule(f: PortForward): string {
  const match = f.hostIp ? `ip daddr ${f.hostIp} ` : '';
  return `    ${match}${f.protocol} dport ${f.hostPort} dnat to ${f.containerIp}:${f.containerPort}`;
}

/**
 * The daemon's whole nft table, replaced in one `nft -f -` transaction: the leading empty table
 * plus delete make the script work whether or not the table exists, and nothing is ever half
 * programmed. Only the daemon's own table is touched; other tables (Docker's, the lab's) stay.
 *
 * - prerouting/output: a packet for one of the host's own addresses (`fib daddr type local`) and a
 *   published port is DNATed to its container — prerouting for traffic from outside and from
 *   containers, output for the host's own connections.
 * - postrouting: masquerade the subnet's traffic leaving for elsewhere (outbound NAT, like
 *   docker0); masquerade DNATed traffic between two containers of the bridge (hairpin: without it
 *   the backend answers the client directly and the client drops the reply from an address it
 *   never dialled); masquerade host connections from 127.0.0.0/8 that were DNATed onto the bridge
 *   (with route_localnet on the bridge), so `curl 127.0.0.1:PORT` works on the node.
 */
export function renderRuleset(input: RulesetInput): string {
  const { table, bridge, subnetCidr: s } = input;
  return [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    fib daddr type local jump published',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    fib daddr type local jump published',
    '  }',
    '  chain published {',
    ...input.forwards.map(forwardRule),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${s} ip daddr != ${s} masquerade`,
    `    ip saddr ${s} ip daddr ${s} ct status dnat masquerade`,
    `    ip saddr 127.0.0.0/8 oifname "${bridge}" masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Removes the table; run as its own transaction so a missing table is just "nothing to do". */
export function renderDeleteTable(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\n`;
}
