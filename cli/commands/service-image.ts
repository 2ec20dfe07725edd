import type { Command } from 'commander';
import { TswarmError } from '../../lib/errors.js';
import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import type { ApiClient } from '../../lib/api-client/client.js';
import type { DockerServiceSpec } from '../../lib/api-client/swarm-types.js';
import { familiarReference, formatReference, isDigest, parseReference } from '../../engine/image/reference.js';

/**
 * A service's image at create, as `docker service create` handles it: the tag is resolved to a
 * digest by asking the registry (`GET /distribution/{name}/json`) and the spec names
 * `IMAGE:TAG@sha256:…`, so every task on every node runs the same image even when the tag moves
 * later (`--no-resolve-image` keeps the tag: each node resolves it when it pulls). With
 * `--with-registry-auth`, this node's stored login for the image's registry goes with the
 * request (X-Registry-Auth), and the service's workers pull with it.
 */

export interface ServiceImageFlags {
  /** False with `--no-resolve-image` (commander's negated option). */
  resolveImage: boolean;
  withRegistryAuth?: boolean;
}

/** Docker's answer to `GET /distribution/{name}/json`, the parts read here. */
interface DistributionInspectJson {
  Descriptor: { digest: string };
  Platforms?: { architecture?: string; os?: string }[] | null;
}

/**
 * The registry is asked by the daemon, which retries a failing one a few times; past this the
 * service is created unpinned, with the warning, rather than the command hanging on a registry.
 */
export const RESOLVE_DEADLINE_MS = 30_000;

/** The two flags, on `service create`. */
export function withServiceImageOptions(command: Command): Command {
  return command
    .option(
      '--with-registry-auth',
      "send this node's registry login for the image (tswarm login) to the service's workers, for this service only",
    )
    .option('--no-resolve-image', 'do not pin the image to its digest: each node resolves the tag when it pulls');
}

/** The image with a tag, as Docker sends it: `busybox` → `busybox:latest`; a name it cannot read, as given. */
export function imageWithTag(image: string): string {
  try {
    return familiarReference(formatReference(parseReference(image)));
  } catch {
    return image; // the daemon names what is wrong with it
  }
}

/** The image pinned to `digest` (`reg/app:1@sha256:…`); one that already names a digest stays as it is. */
export function imageWithDigest(image: string, digest: string): string {
  const parsed = parseReference(image);
  if (parsed.digest) return image;
  if (!isDigest(digest))
    throw new TswarmError(
      'INTERNAL',
      `the daemon resolved ${image} to "${digest.slice(0, 80)}", which is not a digest`,
    );
  return familiarReference(formatReference({ ...parsed, digest }));
}

/**
 * A service's or task's image as `docker service ls` and `ps` show it: a pinned digest left out
 * (`reg/app:1@sha256:…` is `reg/app:1`), so the table says which tag runs.
 */
export function imageForDisplay(image: string): string {
  try {
    const parsed = parseReference(image);
    if (!parsed.digest || !parsed.tag) return image;
    return familiarReference(
      formatReference({ registry: parsed.registry, repository: parsed.repository, tag: parsed.tag }),
    );
  } catch {
    return image;
  }
}

/** Docker's warning when the digest cannot be recorded (moby's client, word for word). */
export function digestWarning(image: string): string {
  return `image ${image} could not be accessed on a registry to record\nits digest. Each node will access ${image} independently,\npossibly leading to different nodes running different\nversions of the image.\n`;
}

/**
 * The image's platforms as placement, as Docker's client sets them: an "arm" architecture is left
 * empty, since nodes report armv7l and the like (SwarmKit issue 2294).
 */
function placementPlatforms(inspect: DistributionInspectJson): { Architecture: string; OS: string }[] {
  return (inspect.Platforms ?? []).map((p) => ({
    Architecture: (p.architecture ?? '').toLowerCase() === 'arm' ? '' : (p.architecture ?? ''),
    OS: p.os ?? '',
  }));
}

/** This node's stored login for the image's registry, as X-Registry-Auth; undefined (and said) without one. */
async function storedRegistryAuth(
  api: ApiClient,
  image: string,
  warn: (text: string) => void,
): Promise<string | undefined> {
  let registry: string;
  try {
    registry = parseReference(image).registry;
  } catch {
    return undefined;
  }
  try {
    const r = await api.json<{ RegistryAuth: string }>('POST', `${TSWARM_API_PREFIX}/registry-auth`, {
      json: { Registry: registry },
    });
    return r.RegistryAuth;
  } catch (err) {
    if (!(err instanceof TswarmError && err.code === 'NOT_FOUND')) throw err;
    warn(`WARNING: --with-registry-auth: ${err.message}. The workers will pull with their own logins.\n`);
    return undefined;
  }
}

/**
 * The spec to send and the headers to send it with: the image tagged, then pinned to its digest
 * with the image's platforms as placement (unless `--no-resolve-image`), and the registry login
 * (with `--with-registry-auth`). A registry that cannot be asked is a warning, as in Docker: the
 * service is created with the tag.
 */
export async function prepareServiceImage(
  api: ApiClient,
  given: DockerServiceSpec,
  flags: ServiceImageFlags,
  warn: (text: string) => void,
): Promise<{ spec: DockerServiceSpec; headers: Record<string, string> }> {
  const template = given.TaskTemplate;
  const image = imageWithTag(template.ContainerSpec.Image);
  const registryAuth = flags.withRegistryAuth ? await storedRegistryAuth(api, image, warn) : undefined;
  const headers: Record<string, string> = registryAuth ? { 'X-Registry-Auth': registryAuth } : {};
  let spec: DockerServiceSpec = {
    ...given,
    TaskTemplate: { ...template, ContainerSpec: { ...template.ContainerSpec, Image: image } },
  };
  if (!flags.resolveImage) return { spec, headers };
  let inspect: DistributionInspectJson;
  let pinned: string;
  try {
    inspect = await api.json<DistributionInspectJson>('GET', `/distribution/${image}/json`, {
      headers,
      timeoutMs: RESOLVE_DEADLINE_MS,
    });
    pinned = imageWithDigest(image, inspect.Descriptor.digest);
  } catch (err) {
    // Docker's warning, then why: the registry's own refusal or that it could not be reached.
    warn(`${digestWarning(image)}(${(err as Error).message})\n`);
    return { spec, headers };
  }
  const platforms = placementPlatforms(inspect);
  spec = {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Image: pinned },
      ...(platforms.length > 0 ? { Placement: { ...spec.TaskTemplate.Placement, Platforms: platforms } } : {}),
    },
  };
  return { spec, headers };
}
