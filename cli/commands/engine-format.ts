import type { ContainerSummaryJson, DockerPort, StatsJson } from './container-api.js';

/** How the engine commands show things, as the docker CLI does. */

/** `bytes` in the largest of `units` (each `step` times the last) that keeps the value at 1 or more. */
function scaled(
  bytes: number,
  step: number,
  units: readonly string[],
): { value: number; unit: string; whole: boolean } {
  let value = bytes;
  let i = 0;
  while (value >= step && i < units.length - 1) {
    value /= step;
    i++;
  }
  return { value, unit: units[i]!, whole: i === 0 };
}

/** Decimal units, as `docker images` prints sizes ("4.26MB"). */
export function humanBytes(bytes: number): string {
  const { value, unit, whole } = scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB']);
  // Zeros go only after a decimal point: 300kB stays 300kB, 4.50MB becomes 4.5MB.
  return `${
    whole
      ? value
      : value
          .toPrecision(3)
          .replace(/(\.\d*?)0+$/, '$1')
          .replace(/\.$/, '')
  }${unit}`;
}

/** "5 seconds", "3 minutes", "2 hours", "4 days" (largest unit, rounded down). */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [n, unit] =
    s < 60
      ? [s, 'second']
      : s < 3600
        ? [Math.floor(s / 60), 'minute']
        : s < 86_400
          ? [Math.floor(s / 3600), 'hour']
          : [Math.floor(s / 86_400), 'day'];
  return n === 1 ? `1 ${unit}` : `${n} ${unit}s`;
}

export function ago(atMs: number, nowMs = Date.now()): string {
  return atMs > 0 ? `${humanDuration(nowMs - atMs)} ago` : '';
}

/** "reg:5000/test/busybox:1" → ["reg:5000/test/busybox", "1"] (the tag follows the last ':' after the last '/'). */
export function splitRepoTag(repoTag: string): [string, string] {
  const at = repoTag.lastIndexOf(':');
  return at > repoTag.lastIndexOf('/') ? [repoTag.slice(0, at), repoTag.slice(at + 1)] : [repoTag, '<none>'];
}

export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** "0.0.0.0:8080->80/tcp", or "80/tcp" for a port not published on the host — `docker ps`'s PORTS. */
export function formatPort(p: DockerPort): string {
  return p.PublicPort
    ? `${p.IP || '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`
    : `${p.PrivatePort}/${p.Type}`;
}

/**
 * `docker ps`'s rows; STATUS is the daemon's wording ("Up 3 minutes", "Exited (0) 2 seconds ago").
 * With `size`, `docker ps -s`'s SIZE: the container's changes, then with its image ("0B (virtual 4.26MB)").
 */
export function containerRows(
  containers: readonly ContainerSummaryJson[],
  nowMs = Date.now(),
  size = false,
): string[][] {
  return containers.map((c) => {
    const command = c.Command;
    const row = [
      c.Id.slice(0, 12),
      c.Image,
      `"${command.length > 20 ? command.slice(0, 19) + '…' : command}"`,
      ago(c.Created * 1000, nowMs),
      c.Status,
      c.Ports.map(formatPort).join(', '),
      (c.Names[0] ?? '').replace(/^\//, ''),
    ];
    if (size) row.push(`${humanBytes(c.SizeRw ?? 0)} (virtual ${humanBytes(c.SizeRootFs ?? 0)})`);
    return row;
  });
}

/** Binary units, as `docker stats` prints memory ("1.5MiB"). */
export function humanBinaryBytes(bytes: number): string {
  const { value, unit, whole } = scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
  return `${whole ? value : value.toFixed(2).replace(/\.?0+$/, '')}${unit}`;
}

/**
 * `docker stats`'s CPU %: the container's CPU time over the host's between the two samples,
 * times the CPUs (so one busy CPU is 100%); 0 without an earlier sample.
 */
function cpuPercent(s: StatsJson): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}

/** Memory in use as `docker stats` counts it: without the page cache the kernel can drop (inactive files). */
function memoryUsed(s: StatsJson): number {
  const m = s.memory_stats;
  const cache = m.stats?.['total_inactive_file'] ?? m.stats?.['inactive_file'] ?? 0;
  const usage = m.usage ?? 0;
  return cache < usage ? usage - cache : usage;
}

/** `docker stats` rows from the daemon's samples; the limit is the host's memory when the container has none. */
export function statsRows(stats: readonly StatsJson[]): string[][] {
  return stats.map((s) => {
    const used = memoryUsed(s);
    const limit = s.memory_stats.limit ?? 0;
    const memPercent = limit > 0 ? (used / limit) * 100 : 0;
    return [
      s.id.slice(0, 12),
      s.name.replace(/^\//, ''),
      `${cpuPercent(s).toFixed(2)}%`,
      `${humanBinaryBytes(used)} / ${humanBinaryBytes(limit)}`,
      `${memPercent.toFixed(2)}%`,
      String(s.pids_stats.current ?? 0),
    ];
  });
}
