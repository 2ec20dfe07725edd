import type { ImageInspectResponse, ImageSummary, LayerProgress } from '../../gen/tswarm/v1/engine.js';
import { familiarReference, formatReference, parseReference } from '../../engine/image/reference.js';
import type { ImageConfigDocument } from '../../engine/image/oci.js';
import { globMatch, matchesLabels, type Filters } from './list-filters.js';
import { isoTime } from './swarm-shapes.js';
import { versionAtLeast } from './versions.js';

/** The image config as stored, parsed leniently: a config this node pulled was checked then. */
export function parseImageConfig(configJson: Uint8Array): ImageConfigDocument {
  try {
    const doc = JSON.parse(Buffer.from(configJson).toString('utf8')) as unknown;
    return doc !== null && typeof doc === 'object' ? doc : {};
  } catch {
    return {};
  }
}

function labelsOf(doc: ImageConfigDocument): Record<string, string> {
  const labels = doc.config?.['Labels'];
  return labels !== null && typeof labels === 'object' ? (labels as Record<string, string>) : {};
}

/** Docker's `ImageSummary` (GET /images/json). `Containers` and `SharedSize` are -1: not computed, as dockerd by default. */
export function dockerImageSummary(
  image: ImageSummary,
  doc: ImageConfigDocument,
  version: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    Id: image.id,
    ParentId: '',
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Created: Math.floor(image.createdAtMs / 1000),
    Size: image.sizeBytes,
    SharedSize: -1,
    Labels: labelsOf(doc),
    Containers: -1,
  };
  // VirtualSize left the API in 1.44; older clients still read it.
  if (!versionAtLeast(version, '1.44')) body['VirtualSize'] = image.sizeBytes;
  return body;
}

/** The fields of Docker's image `Config` that an OCI config carries. */
const CONFIG_FIELDS = [
  'User',
  'ExposedPorts',
  'Env',
  'Cmd',
  'Entrypoint',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const;

/** Docker's `ImageInspect` (GET /images/{name}/json) from the stored config. */
export function dockerImageInspect(r: ImageInspectResponse, version: string): Record<string, unknown> {
  const image = r.image!;
  const doc = parseImageConfig(r.configJson);
  const config: Record<string, unknown> = {
    Cmd: null,
    Entrypoint: null,
    Env: null,
    WorkingDir: '',
    Labels: null,
    User: '',
  };
  for (const f of CONFIG_FIELDS) if (doc.config?.[f] !== undefined) config[f] = doc.config[f];
  const body: Record<string, unknown> = {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Parent: '',
    Comment: '',
    Created: doc.created ?? isoTime(image.createdAtMs),
    DockerVersion: '',
    Author: '',
    Config: config,
    Architecture: doc.architecture ?? '',
    Os: doc.os ?? 'linux',
    Size: image.sizeBytes,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: doc.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
  if (!versionAtLeast(version, '1.44')) body['VirtualSize'] = image.sizeBytes;
  return body;
}

/**
 * The reference forms an image name can be matched by: `busybox:1`, `docker.io/library/busybox:1`,
 * `busybox` (a digest reference `busybox@sha256:…` by its repository too).
 */
function namesOf(ref: string): string[] {
  const names = [ref];
  try {
    const parsed = parseReference(ref);
    names.push(formatReference(parsed), familiarReference(`${parsed.registry}/${parsed.repository}`));
  } catch {
    // a name this node stored always parses
  }
  return names;
}

function matchesReference(ref: string, patterns: readonly string[]): boolean {
  const names = namesOf(ref);
  return patterns.some((p) => names.some((n) => globMatch(p, n)));
}

/**
 * As dockerd lists an image under a `reference` filter: with only the tags and digests that
 * matched, so `docker images lab/app` shows no row for the image's other names.
 */
export function withMatchingReferences(image: ImageSummary, filters: Filters): ImageSummary {
  const refs = filters.get('reference');
  if (!refs || refs.length === 0) return image;
  return {
    ...image,
    repoTags: image.repoTags.filter((t) => matchesReference(t, refs)),
    repoDigests: image.repoDigests.filter((d) => matchesReference(d, refs)),
  };
}

/** Whether an image passes `dangling`, `reference` and `label` filters. */
export function imageMatches(
  image: ImageSummary,
  doc: ImageConfigDocument,
  filters: Filters,
  dangling: boolean | undefined,
): boolean {
  if (dangling !== undefined && (image.repoTags.length === 0) !== dangling) return false;
  const refs = filters.get('reference');
  if (refs && refs.length > 0 && !image.repoTags.some((t) => matchesReference(t, refs))) return false;
  return matchesLabels(labelsOf(doc), filters.get('label'));
}

/** The short layer ID the docker CLI shows on a progress line: 12 hex digits of the blob digest. */
export function shortLayerId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Docker's progress line for a layer report of the engine's pull. */
export function pullProgressMessage(p: LayerProgress): Record<string, unknown> {
  const id = shortLayerId(p.digest);
  switch (p.status) {
    case 'waiting':
      return { status: 'Waiting', progressDetail: {}, id };
    case 'downloading':
      return {
        status: 'Downloading',
        progressDetail: { current: Number(p.currentBytes), total: Number(p.totalBytes) },
        id,
      };
    case 'verifying':
      return { status: 'Verifying Checksum', progressDetail: {}, id };
    case 'extracting':
      return { status: 'Extracting', progressDetail: {}, id };
    case 'done':
      return { status: 'Pull complete', progressDetail: {}, id };
    case 'already exists':
      return { status: 'Already exists', progressDetail: {}, id };
    default:
      return { status: p.status, progressDetail: {}, id };
  }
}
