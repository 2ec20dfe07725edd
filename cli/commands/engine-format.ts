import type { ContainerStats, ContainerSummary, ImageSummary, PublishedPort } from '../../gen/lite/tswarm/v1/engine.js';
import { PortProtocol } from '../../gen/lite/tswarm/v1/objects.js';

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
  return `${whole ? value : value.toPrecision(3).replace(/\.?0+$/, '')}${unit}`;
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

export function imageRows(images: readonly ImageSummary[], nowMs = Date.now()): string[][] {
  return images.flatMap((i) => {
    const tags = i.repoTags.length > 0 ? i.repoTags : ['<none>:<none>'];
    return tags.map((t) => {
      const [repo, tag] = t === '<none>:<none>' ? ['<none>', '<none>'] : splitRepoTag(t);
      return [repo, tag, shortImageId(i.id), ago(i.createdAtMs, nowMs), humanBytes(i.sizeBytes)];
    });
  });
}

/** "Up 3 minutes", "Exited (3) 2 minutes ago", "Created" — the STATUS column of `docker ps`. */
export function containerStatus(c: ContainerSummary, nowMs = Date.now()): string {
  const s = c.state;
  if (!s) return '';
  if (s.status === 'running') return `Up ${humanDuration(nowMs - s.startedAtMs)}${s.health ? ` (${s.health})` : ''}`;
  if (s.status === 'exited') return `Exited (${s.exitCode}) ${ago(s.finishedAtMs, nowMs)}`.trimEnd();
  return s.status.charAt(0).toUpperCase() + s.status.slice(1);
}

const PROTOCOL_NAMES: Partial<Record<PortProtocol, string>> = {
  [PortProtocol.PORT_PROTOCOL_UDP]: 'udp',
  [PortProtocol.PORT_PROTOCOL_SCTP]: 'sctp',
};

export function formatPort(p: PublishedPort): string {
  const proto = PROTOCOL_NAMES[p.protocol] ?? 'tcp';
  return p.hostPort
    ? `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${proto}`
    : `${p.containerPort}/${proto}`;
}

/** A container as `ps --format json` shows it: ports with their protocol's name, not its number. */
export function containerJson(c: ContainerSummary): object {
  return { ...c, ports: c.ports.map((p) => ({ ...p, protocol: PROTOCOL_NAMES[p.protocol] ?? 'tcp' })) };
}

export function containerRows(containers: readonly ContainerSummary[], nowMs = Date.now()): string[][] {
  return containers.map((c) => {
    const command = c.command.join(' ');
    return [
      c.id.slice(0, 12),
      c.image,
      `"${command.length > 20 ? command.slice(0, 19) + '…' : command}"`,
      ago(c.createdAtMs, nowMs),
      containerStatus(c, nowMs),
      c.state?.status === 'running' ? c.ports.map(formatPort).join(', ') : '',
      c.name,
    ];
  });
}

/** Binary units, as `docker stats` prints memory ("1.5MiB"). */
export function humanBinaryBytes(bytes: number): string {
  const { value, unit, whole } = scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
  return `${whole ? value : value.toFixed(2).replace(/\.?0+$/, '')}${unit}`;
}

/**
 * `docker stats` rows from two samples of the same containers: CPU as a percentage of one CPU
 * over the time between them, memory against its limit (the host's memory when unlimited).
 * A container missing from the earlier sample (it just started) shows 0% CPU.
 */
export function statsRows(
  before: readonly ContainerStats[],
  after: readonly ContainerStats[],
  hostMemoryBytes: number,
): string[][] {
  const earlier = new Map(before.map((s) => [s.id, s]));
  return after.map((s) => {
    const prev = earlier.get(s.id);
    const elapsedNs = prev ? (s.readAtMs - prev.readAtMs) * 1e6 : 0;
    const cpu = prev && elapsedNs > 0 ? (Math.max(0, s.cpuUsageNs - prev.cpuUsageNs) / elapsedNs) * 100 : 0;
    const limit = s.memoryLimitBytes > 0 ? s.memoryLimitBytes : hostMemoryBytes;
    const memPercent = limit > 0 ? (s.memoryBytes / limit) * 100 : 0;
    return [
      s.id.slice(0, 12),
      s.name,
      `${cpu.toFixed(2)}%`,
      `${humanBinaryBytes(s.memoryBytes)} / ${humanBinaryBytes(limit)}`,
      `${memPercent.toFixed(2)}%`,
      String(s.pids),
    ];
  });
}
