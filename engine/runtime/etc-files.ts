/**
 * The /etc/hosts, /etc/hostname and /etc/resolv.conf a container sees: files in its own directory,
 * bind-mounted, so the network part of the engine can hand over content and the image is untouched.
 */

export interface HostsInput {
  hostname: string;
  /** The container's address on its network, when it has one. */
  ip?: string | undefined;
  /** Extra entries as Docker's --add-host: "name:ip" (or "ip name"). */
  extraHosts?: readonly string[];
}

export function defaultHosts(input: HostsInput): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const entry of input.extraHosts ?? []) {
    const spaced = entry.trim().split(/\s+/);
    if (spaced.length >= 2) lines.push(`${spaced[0]}\t${spaced.slice(1).join(' ')}`);
    else {
      const colon = entry.indexOf(':');
      if (colon > 0) lines.push(`${entry.slice(colon + 1)}\t${entry.slice(0, colon)}`);
    }
  }
  lines.push(input.ip ? `${input.ip}\t${input.hostname}` : `127.0.1.1\t${input.hostname}`);
  return `${lines.join('\n')}\n`;
}

export interface DnsOverrides {
  nameservers: readonly string[];
  search: readonly string[];
  options: readonly string[];
}

/**
 * A container's resolv.conf with the spec's DNS settings in force (docker run --dns,
 * --dns-search, --dns-option): each one given replaces the base's lines of its kind, as Docker
 * does; what is not given stays as the base (the host's, as containerResolvConf made it) has it.
 */
export function withDnsOverrides(base: string, o: DnsOverrides): string {
  if (o.nameservers.length === 0 && o.search.length === 0 && o.options.length === 0) return base;
  const replaced = (line: string) =>
    (o.nameservers.length > 0 && /^\s*nameserver\s/.test(line)) ||
    (o.search.length > 0 && /^\s*(search|domain)\s/.test(line)) ||
    (o.options.length > 0 && /^\s*options\s/.test(line)) ||
    // The note about a missing nameserver is wrong once some are given.
    (o.nameservers.length > 0 && line.startsWith('# tswarm: no usable nameserver'));
  const lines = base.split('\n').filter((l) => l.trim() !== '' && !replaced(l));
  lines.push(...o.nameservers.map((s) => `nameserver ${s}`));
  if (o.search.length > 0) lines.push(`search ${o.search.join(' ')}`);
  if (o.options.length > 0) lines.push(`options ${o.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
