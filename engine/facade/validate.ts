import { TswarmError } from '../../lib/errors.js';
import type { ContainerConfig, PublishedPort } from '../../gen/tswarm/v1/engine.js';
import { availableParallelism } from 'node:os';
import type { Resources } from '../../gen/tswarm/v1/objects.js';
import { checkContainerSpec } from '../../lib/container-spec-checks.js';

// The checks every container spec passes, here and in the manager's service checks, live in lib/.
export {
  MOUNTS_MAX,
  REFERENCE_CHARS_MAX,
  requireText,
  validateLabels,
  validateVolumeName,
} from '../../lib/container-spec-checks.js';

/**
 * Checks on what callers of the engine API send, before anything is touched: every list and
 * string has a bound, and each refusal says what to send instead.
 */

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

const NAME_CHARS_MAX = 128;
const PORTS_MAX = 1_000;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Docker's floor: below it the kernel's own use of the cgroup leaves the process no room. */
export const MEMORY_BYTES_MIN = 6 * 1024 * 1024;
/** Docker's smallest CPU limit, 0.01 CPUs; the cgroup's quota is 1 ms per 100 ms period then. */
export const NANO_CPUS_MIN = 10_000_000;

function validatePort(p: PublishedPort): void {
  if (p.containerPort < 1 || p.containerPort > 65535)
    throw invalid(`container port ${p.containerPort} is out of range. Use 1-65535`);
  if (p.hostPort > 65535) throw invalid(`host port ${p.hostPort} is out of range. Use 0-65535 (0 picks a free one)`);
}

/** What the kernel and Docker accept, so a bad limit is refused here and not deep in crun (as a 126). */
function validateLimits(limits: Resources, cpusOnHost: number): void {
  if (limits.nanoCpus < 0 || limits.memoryBytes < 0 || limits.pids < 0)
    throw invalid('a resource limit is negative. Give 0 (no limit) or more');
  if (limits.memoryBytes > 0 && limits.memoryBytes < MEMORY_BYTES_MIN)
    throw invalid(`memory limit ${limits.memoryBytes} bytes is below the minimum of 6 MiB. Give 6m or more`);
  if (limits.nanoCpus > 0 && (limits.nanoCpus < NANO_CPUS_MIN || limits.nanoCpus > cpusOnHost * 1e9)) {
    throw invalid(
      `CPU limit ${(limits.nanoCpus / 1e9).toFixed(3)} is out of range. Give 0.01 to ${cpusOnHost}, the CPUs this node has`,
    );
  }
}

export function validateContainerConfig(config: ContainerConfig, cpusOnHost = availableParallelism()): void {
  if (config.name !== '' && (config.name.length > NAME_CHARS_MAX || !CONTAINER_NAME.test(config.name))) {
    throw invalid(
      `invalid container name "${config.name}". Use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if (!config.spec) throw invalid('the container config has no spec. Give at least an image');
  checkContainerSpec(config.spec);
  if (config.ports.length > PORTS_MAX)
    throw invalid(`too many published ports (${config.ports.length}). Give at most ${PORTS_MAX}`);
  config.ports.forEach(validatePort);
  const limits = config.resources?.limits;
  if (limits) validateLimits(limits, cpusOnHost);
  if (config.networkMode.length > NAME_CHARS_MAX)
    throw invalid('the network name is too long. Use bridge, host or none');
}
