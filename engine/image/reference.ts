import { invalidReference } from './errors.js';

/**
 * Image references, normalized as Docker does: "busybox" is docker.io/library/busybox:latest,
 * "127.0.0.1:5000/test/x:1" names its own registry, "x@sha256:…" pins a manifest digest.
 */
export interface ImageReference {
  /** Registry host[:port]; "docker.io" for Docker Hub. */
  registry: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  repository: string;
  tag?: string;
  /** "sha256:<64 hex>" */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DEFAULT_TAG = 'latest';
const REFERENCE_CHARS_MAX = 4096;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** Parses and normalizes a reference; a missing tag and digest means ":latest". */
export function parseReference(ref: string): ImageReference {
  if (ref.length === 0 || ref.length > REFERENCE_CHARS_MAX) throw invalidReference(ref, 'empty or too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalidReference(ref, 'the digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalidReference(ref, `invalid tag "${tag}"`);
  }
  const { registry, repository } = splitName(ref, rest);
  if (!tag && !digest) tag = DEFAULT_TAG;
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function splitName(ref: string, name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  // The first component is a registry host only if it looks like one (as Docker decides).
  const isHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = isHost ? first : DOCKER_HUB;
  let repository = isHost ? name.slice(slash + 1) : name;
  if (!HOST_RE.test(registry)) throw invalidReference(ref, `invalid registry host "${registry}"`);
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  for (const component of repository.split('/')) {
    if (!COMPONENT_RE.test(component))
      throw invalidReference(ref, `invalid repository name "${repository}" (lowercase letters, digits and . _ - only)`);
  }
  return { registry, repository };
}

/** The repository with its registry: "127.0.0.1:5000/test/x", "docker.io/library/busybox". */
export function repositoryName(r: ImageReference): string {
  return `${r.registry}/${r.repository}`;
}

/** The full normalized form: registry/repository[:tag][@digest]. */
export function formatReference(r: ImageReference): string {
  return `${repositoryName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The short form people type and Docker shows: "busybox:latest" for Docker Hub's library images. */
export function familiarReference(normalized: string): string {
  const prefix = `${DOCKER_HUB}/`;
  if (!normalized.startsWith(prefix)) return normalized;
  const rest = normalized.slice(prefix.length);
  return rest.startsWith('library/') ? rest.slice('library/'.length) : rest;
}

/** Registry names as the credential store keys them: Docker Hub's aliases collapse to one. */
export function normalizeRegistryHost(registry: string): string {
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB;
  return host;
}
