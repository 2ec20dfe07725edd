import type { Node, Platform } from '../../gen/tswarm/v1/objects.js';

/**
 * One name per architecture. A node reports Node.js's name (x64), an image or a user may write
 * Docker's (amd64) or the kernel's (x86_64); SwarmKit's platform filter normalizes the same way.
 */
const ARCH_ALIASES = new Map([
  ['x64', 'amd64'],
  ['x86_64', 'amd64'],
  ['aarch64', 'arm64'],
  ['ia32', '386'],
  ['i386', '386'],
  ['i686', '386'],
  ['armhf', 'arm'],
]);

export function normalizeArch(arch: string): string {
  const lower = arch.toLowerCase();
  return ARCH_ALIASES.get(lower) ?? lower;
}

/**
 * The node runs one of the platforms the task asks for (`Placement.platforms`, from the image's
 * manifest list); no platforms asked means any node will do. An empty OS or architecture in a
 * wanted platform matches any.
 */
export function platformSupported(wanted: readonly Platform[], node: Node): boolean {
  if (wanted.length === 0) return true;
  const os = (node.description?.platform?.os ?? '').toLowerCase();
  const arch = normalizeArch(node.description?.platform?.architecture ?? '');
  return wanted.some(
    (p) =>
      (p.os === '' || p.os.toLowerCase() === os) && (p.architecture === '' || normalizeArch(p.architecture) === arch),
  );
}
