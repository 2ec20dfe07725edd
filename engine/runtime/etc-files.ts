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
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];
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

export interface ResolvInput {
  /** The host's /etc/resolv.conf, used when no nameservers are given. */
  hostResolvConf: string;
  nameservers?: readonly string[];
  search?: readonly string[];
  options?: readonly string[];
}

/**
 * Given nameservers win; otherwise the host's, minus loopback ones (a container's 127.0.0.1 is not
 * the host's resolver), falling back to public resolvers as Docker does when none remain.
 */
export function defaultResolvConf(input: ResolvInput): string {
  const hostLines = input.hostResolvConf.split('\n').map((l) => l.trim());
  const hostServers = hostLines.filter((l) => l.startsWith('nameserver')).map((l) => l.split(/\s+/)[1] ?? '').filter((s) => s !== '' && !s.startsWith('127.') && s !== '::1');
  const servers = input.nameservers && input.nameservers.length > 0 ? input.nameservers : hostServers.length > 0 ? hostServers : ['8.8.8.8', '8.8.4.4'];
  const hostSearch = hostLines.find((l) => l.startsWith('search'))?.split(/\s+/).slice(1) ?? [];
  const search = input.search && input.search.length > 0 ? input.search : hostSearch;
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (input.options && input.options.length > 0) lines.push(`options ${input.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
