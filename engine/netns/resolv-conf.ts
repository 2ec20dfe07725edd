/**
 * The DNS a container in its own network namespace can use: engine/network hands it over with an
 * attachment, engine/runtime falls back to it when no network part gave one.
 */

/**
 * A container's /etc/resolv.conf from the host's: the same search domains and options, without
 * nameservers on loopback (127.0.0.0/8, ::1). Those are the host's local caches (systemd-resolved,
 * dnsmasq); inside the container's own network namespace loopback is the container's, so they
 * cannot answer there. No public resolver is ever put in their place: a container's DNS must go
 * only to servers the host's operator chose (network safety: never point at addresses we don't own).
 */
export function containerResolvConf(hostResolvConf: string): string {
  const kept: string[] = [];
  const dropped: string[] = [];
  let nameservers = 0;
  for (const line of hostResolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) {
      if (line.trim() !== '') kept.push(line.trimEnd());
      continue;
    }
    const server = m[1] ?? '';
    if (isLoopback(server)) {
      dropped.push(server);
    } else {
      kept.push(`nameserver ${server}`);
      nameservers++;
    }
  }
  const notes: string[] = [];
  if (dropped.length > 0)
    notes.push(
      `# tswarm: left out loopback nameservers ${dropped.join(', ')}: unreachable from the container's network namespace.`,
    );
  if (nameservers === 0)
    notes.push(
      '# tswarm: no usable nameserver on the host, so none here; name lookups will fail. Configure one on the host or with --dns.',
    );
  return [...notes, ...kept].join('\n') + '\n';
}

function isLoopback(server: string): boolean {
  const address = server.split('%')[0] ?? server; // a zone suffix (fe80::1%eth0) is not part of it
  return /^127\./.test(address) || address === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(address);
}
