import { formatTable } from '../output.js';
import type { ContainerSummaryJson } from './container-api.js';
import { ago, humanBytes, shortImageId, splitRepoTag } from './engine-format.js';
import type { DockerImageSummary } from './image-format.js';

/** `GET /system/df`: Docker's DiskUsage, the fields `system df` shows; a kind not measured is null. */
export interface DiskUsageJson {
  LayersSize: number;
  Images: (DockerImageSummary & { SharedSize: number; Containers: number })[] | null;
  Containers:
    (ContainerSummaryJson & { SizeRw?: number; SizeRootFs?: number; Mounts?: { Driver?: string }[] })[] | null;
  Volumes: { Name: string; UsageData?: { Size: number; RefCount: number } | null }[] | null;
  BuildCache: { Size: number; Shared?: boolean }[] | null;
}

/** "1.2MB (40%)" of a total, as the docker CLI shows what could be freed; without a total, the bytes alone. */
function reclaimable(bytes: number, totalBytes: number): string {
  return totalBytes > 0 ? `${humanBytes(bytes)} (${Math.floor((bytes * 100) / totalBytes)}%)` : humanBytes(bytes);
}

const isActive = (state: string) => state === 'running' || state === 'paused' || state === 'restarting';

/**
 * `docker system df`'s summary: per kind, how many, how many in use, their size and what removing
 * the unused would free — worked out from the reply as the docker CLI does (an image's unique
 * part counts as used while a container uses it; an unused volume's bytes are reclaimable).
 */
export function dfSummaryRows(du: DiskUsageJson): string[][] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const usedImageBytes = images
    .filter((i) => i.Containers > 0 && i.Size >= 0 && i.SharedSize >= 0)
    .reduce((n, i) => n + i.Size - i.SharedSize, 0);
  const rw = (c: (typeof containers)[number]) => c.SizeRw ?? 0;
  const containerBytes = containers.reduce((n, c) => n + rw(c), 0);
  const idleContainerBytes = containers.filter((c) => !isActive(c.State)).reduce((n, c) => n + rw(c), 0);
  const volumeSize = (v: (typeof volumes)[number]) => Math.max(0, v.UsageData?.Size ?? 0);
  const volumeBytes = volumes.reduce((n, v) => n + volumeSize(v), 0);
  const idleVolumeBytes = volumes
    .filter((v) => (v.UsageData?.RefCount ?? 0) === 0)
    .reduce((n, v) => n + volumeSize(v), 0);
  const cacheBytes = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  return [
    [
      'Images',
      String(images.length),
      String(images.filter((i) => i.Containers > 0).length),
      humanBytes(du.LayersSize),
      reclaimable(du.LayersSize - usedImageBytes, du.LayersSize),
    ],
    [
      'Containers',
      String(containers.length),
      String(containers.filter((c) => isActive(c.State)).length),
      humanBytes(containerBytes),
      reclaimable(idleContainerBytes, containerBytes),
    ],
    [
      'Local Volumes',
      String(volumes.length),
      String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      humanBytes(volumeBytes),
      reclaimable(idleVolumeBytes, volumeBytes),
    ],
    ['Build Cache', String(cache.length), '0', humanBytes(cacheBytes), humanBytes(cacheBytes)],
  ];
}

export function dfSummary(du: DiskUsageJson): string {
  return formatTable(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], dfSummaryRows(du));
}

/** `docker system df -v`: a table per kind — each image, container and volume with its sizes. */
export function dfVerbose(du: DiskUsageJson, nowMs = Date.now()): string {
  const images = (du.Images ?? []).map((i) => {
    const [repo, tag] = i.RepoTags && i.RepoTags.length > 0 ? splitRepoTag(i.RepoTags[0]!) : ['<none>', '<none>'];
    return [
      repo,
      tag,
      shortImageId(i.Id),
      ago(i.Created * 1000, nowMs),
      humanBytes(i.Size),
      humanBytes(i.SharedSize),
      humanBytes(i.Size - i.SharedSize),
      String(i.Containers),
    ];
  });
  const containers = (du.Containers ?? []).map((c) => [
    c.Id.slice(0, 12),
    c.Image,
    `"${c.Command.length > 20 ? c.Command.slice(0, 19) + '…' : c.Command}"`,
    String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    humanBytes(c.SizeRw ?? 0),
    ago(c.Created * 1000, nowMs),
    c.Status,
    (c.Names[0] ?? '').replace(/^\//, ''),
  ]);
  const volumes = (du.Volumes ?? []).map((v) => [
    v.Name,
    v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    v.UsageData ? humanBytes(Math.max(0, v.UsageData.Size)) : 'N/A',
  ]);
  const cacheBytes = (du.BuildCache ?? []).filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  return [
    'Images space usage:\n\n',
    formatTable(
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
      images,
    ),
    '\nContainers space usage:\n\n',
    formatTable(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
      containers,
    ),
    '\nLocal Volumes space usage:\n\n',
    formatTable(['VOLUME NAME', 'LINKS', 'SIZE'], volumes),
    `\nBuild cache usage: ${humanBytes(cacheBytes)}\n`,
  ].join('');
}
