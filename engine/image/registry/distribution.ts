import { CONFIG_BYTES_MAX, type Descriptor, type Platform } from '../oci.js';
import type { ImageReference } from '../reference.js';
import type { Credentials } from './auth.js';
import type { RegistryClient, Target } from './client.js';
import { fetchManifest, targetOf } from './pull.js';

/**
 * What the registry says a reference names now, without pulling it (Docker's
 * `GET /distribution/{name}/json`): the descriptor of the manifest or index the tag points at,
 * and the platforms it offers. `service create` pins the digest so every task runs the same
 * image, and turns the platforms into placement.
 */
export interface DistributionInspect {
  descriptor: { mediaType: string; digest: string; size: number };
  platforms: Platform[];
}

/**
 * One GET of the manifest (by tag, or by digest when the reference has one), checked against the
 * digest the registry claims; for a single-platform manifest, also its config, which names the
 * platform. A config that cannot be read only leaves the platforms empty (no placement
 * constraint), as dockerd does: the digest is what matters.
 */
export async function inspectDistribution(
  client: RegistryClient,
  ref: ImageReference,
  credentials?: Credentials,
): Promise<DistributionInspect> {
  const t = targetOf(ref, credentials);
  const { bytes, digest, doc } = await fetchManifest(client, t, ref.digest ?? ref.tag ?? 'latest', ref.digest);
  const descriptor = { mediaType: doc.mediaType, digest, size: bytes.length };
  if (doc.kind === 'index') {
    const platforms = doc.manifests.flatMap((m) => (m.platform ? [platformOf(m.platform)] : []));
    return { descriptor, platforms };
  }
  const platform = await configPlatform(client, t, doc.config).catch(() => undefined);
  return { descriptor, platforms: platform ? [platform] : [] };
}

/** The platform an image config names (its `os`, `architecture`, `variant`), if it names one. */
async function configPlatform(client: RegistryClient, t: Target, config: Descriptor): Promise<Platform | undefined> {
  if (config.size > CONFIG_BYTES_MAX) return undefined;
  const { bytes } = await client.fetchSmall(t, `/blobs/${config.digest}`, undefined, CONFIG_BYTES_MAX, 'image config');
  const doc = JSON.parse(bytes.toString('utf8')) as Partial<Record<'os' | 'architecture' | 'variant', unknown>>;
  const os = typeof doc.os === 'string' ? doc.os : '';
  const architecture = typeof doc.architecture === 'string' ? doc.architecture : '';
  if (os === '' && architecture === '') return undefined;
  return platformOf({ os, architecture, ...(typeof doc.variant === 'string' ? { variant: doc.variant } : {}) });
}

/** Only the fields Docker's answer carries; an empty variant is left out. */
function platformOf(p: Platform): Platform {
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}
