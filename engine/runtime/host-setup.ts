import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TswarmError } from '../../lib/errors.js';
import { probeHost, type HostProbe } from './probe.js';
import { OciRuntime } from './oci-runtime.js';
import { compilerFingerprint, SeccompBpfCache } from './seccomp-cache.js';
import type { RuntimeOptions } from './runtime-types.js';

/**
 * What ContainerRuntime.open checks and makes before any container: the prefix, a host that can
 * run containers at all (else UNSUPPORTED_HOST says what is missing), the runtime's directories,
 * the OCI runtime, and crun's compiled seccomp cache.
 */

const PREFIX_PATTERN = /^[a-z0-9]{1,16}$/;
export async function setUpHost(
  options: RuntimeOptions,
): Promise<{ host: HostProbe; oci: OciRuntime; seccompCache: SeccompBpfCache | undefined }> {
  if (!PREFIX_PATTERN.test(options.namePrefix)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `name prefix "${options.namePrefix}" must be 1-16 lower-case letters or digits`,
    );
  }
  const host = await probeHost(options.runtime ?? 'crun');
  const fatal = [!host.runtimePath, !host.conmonPath, !host.overlayfs];
  if (fatal.some(Boolean)) {
    throw new TswarmError('UNSUPPORTED_HOST', `this host cannot run containers: ${host.missing.join('; ')}`);
  }
  await Promise.all(
    ['containers', 'exits', 's'].map((d) => mkdir(join(options.root, d), { recursive: true, mode: 0o700 })),
  );
  const oci = await OciRuntime.open(host, options.root, join(options.root, 'containers'));
  // Only crun takes a compiled filter (runc compiles on every create, with no way around it).
  const seccompCache =
    host.runtime === 'crun'
      ? await SeccompBpfCache.open(
          join(options.root, 'seccomp'),
          await compilerFingerprint(oci.runtimePath, host.runtimeVersion),
          options.log,
        )
      : undefined;
  return { host, oci, seccompCache };
}
