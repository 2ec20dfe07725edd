import { ImageError } from './errors.js';
import type { Descriptor, Platform } from './oci.js';

/** Node's process.arch in OCI's words (the Go GOARCH names). */
const ARCH_TO_OCI: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  loong64: { os: 'linux', architecture: 'loong64' },
};

export function hostPlatform(): Platform {
  return ARCH_TO_OCI[process.arch] ?? { os: 'linux', architecture: process.arch };
}

function normalizeVariant(p: Platform): string {
  // arm64 images mostly omit "v8"; treat the two as the same.
  if (p.architecture === 'arm64' && (!p.variant || p.variant === 'v8')) return 'v8';
  return p.variant ?? '';
}

/**
 * Picks the manifest for `want` from an index: os and architecture must match; a variant that
 * matches exactly wins over an entry with no variant.
 */
export function selectPlatform(image: string, manifests: Descriptor[], want: Platform): Descriptor {
  const candidates = manifests.filter(
    (m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture,
  );
  const wantVariant = normalizeVariant(want);
  const exact = candidates.find((m) => m.platform && normalizeVariant(m.platform) === wantVariant);
  const loose = candidates.find((m) => !m.platform?.variant || !want.variant);
  const chosen = exact ?? loose;
  if (chosen) return chosen;
  const offered = manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
  throw new ImageError(
    'NOT_FOUND',
    `image ${image} has no variant for platform ${formatPlatform(want)} (it offers: ${offered || 'none'}). Use an image built for this platform`,
    false,
  );
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
