import { TswarmError } from '../../lib/errors.js';
import { RestartCondition, type Resources, type ServiceSpec } from '../../gen/tswarm/v1/objects.js';
import { parseConstraints } from '../scheduler/constraint.js';
import { parseSpreadDescriptor } from '../scheduler/spread-tree.js';

/**
 * A service spec checked before anything is written (`service create` and `update`): every error
 * names the field and what to do, and nothing is created. The scheduler's parsers check
 * constraints and spread preferences, so a spec accepted here is one the scheduler can read.
 */

/** Replicas of one service: a bound so one request cannot ask the orchestrator for millions of tasks. */
export const SERVICE_REPLICAS_MAX = 10_000;
/** A CPU amount beyond any machine's (1,024 CPUs), in nano CPUs. */
export const NANO_CPUS_MAX = 1_024 * 1e9;
/** A memory amount beyond any machine's (1 PiB). */
export const MEMORY_BYTES_MAX = 2 ** 50;
export const PIDS_MAX = 2 ** 22;
/** Docker's limit on a service name: one DNS label. */
const SERVICE_NAME_CHARS_MAX = 63;
/** SwarmKit's rule: a name is a DNS name component (letters, digits, '-' and '_' between them). */
const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;

const invalid = (message: string) => new TswarmError('INVALID_ARGUMENT', message);

export function validateServiceName(name: string): void {
  if (name.length > SERVICE_NAME_CHARS_MAX || !SERVICE_NAME_PATTERN.test(name)) {
    throw invalid(
      `invalid service name "${name.slice(0, 80)}": a name is 1 to ${SERVICE_NAME_CHARS_MAX} letters, digits, '-' or '_', starting and ending with a letter or digit. Choose another --name`,
    );
  }
}

function validateResources(r: Resources | undefined, what: 'limits' | 'reservations'): void {
  if (!r) return;
  const flag = what === 'limits' ? '--limit' : '--reserve';
  const check = (value: number, unit: string, max: number, name: string) => {
    if (!Number.isSafeInteger(value) || value < 0 || value > max)
      throw invalid(`invalid resource ${what} ${unit}: ${value}. Give ${flag}-${name} between 0 and ${max}`);
  };
  check(r.nanoCpus, 'NanoCPUs', NANO_CPUS_MAX, 'cpu');
  check(r.memoryBytes, 'MemoryBytes', MEMORY_BYTES_MAX, 'memory');
  check(r.pids, 'Pids', PIDS_MAX, 'pids');
}

/**
 * Checks a spec, filling what Docker fills when left out (one replica). Returns the spec to store.
 * Global services and jobs are refused until their orchestrators exist.
 */
export function validateServiceSpec(spec: ServiceSpec | undefined): ServiceSpec {
  if (!spec) throw invalid('a service needs a spec. Give at least an image');
  const name = spec.annotations?.name ?? '';
  if (name !== '') validateServiceName(name);
  for (const key of Object.keys(spec.annotations?.labels ?? {}))
    if (key === '' || key.length > 256) throw invalid(`invalid service label key "${key.slice(0, 80)}"`);
  const task = spec.taskTemplate;
  const image = task?.container?.image ?? '';
  if (image.trim() === '')
    throw invalid('a service needs an image (TaskTemplate.ContainerSpec.Image). Give one: `service create IMAGE`');
  if (/\s/.test(image) || image.length > 512) throw invalid(`invalid image reference "${image.slice(0, 80)}"`);
  // A global service has no replica count: one task per eligible node.
  const replicas = spec.global ? 0 : (spec.replicated?.replicas ?? 1);
  if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > SERVICE_REPLICAS_MAX)
    throw invalid(`invalid replicas ${replicas}. Give --replicas between 0 and ${SERVICE_REPLICAS_MAX}`);
  if (spec.global && maxReplicasPerNodeOf(spec) > 0)
    throw invalid('--replicas-max-per-node applies to replicated services; a global service runs one task per node');
  const placement = task?.placement;
  parseConstraints(placement?.constraints ?? []);
  for (const p of placement?.preferences ?? []) parseSpreadDescriptor(p.spreadDescriptor);
  const perNode = placement?.maxReplicasPerNode ?? 0;
  if (!Number.isSafeInteger(perNode) || perNode < 0 || perNode > SERVICE_REPLICAS_MAX)
    throw invalid(
      `invalid max replicas per node ${perNode}. Give --replicas-max-per-node between 0 (no limit) and ${SERVICE_REPLICAS_MAX}`,
    );
  validateResources(task?.resources?.limits, 'limits');
  validateResources(task?.resources?.reservations, 'reservations');
  const limits = task?.resources?.limits;
  const reservations = task?.resources?.reservations;
  if (limits && reservations) {
    if (limits.memoryBytes > 0 && reservations.memoryBytes > limits.memoryBytes)
      throw invalid('the memory reservation is above the memory limit. Reserve at most --limit-memory');
    if (limits.nanoCpus > 0 && reservations.nanoCpus > limits.nanoCpus)
      throw invalid('the CPU reservation is above the CPU limit. Reserve at most --limit-cpu');
  }
  const condition = task?.restart?.condition ?? RestartCondition.RESTART_CONDITION_UNSPECIFIED;
  if (RestartCondition[condition] === undefined)
    throw invalid(`invalid restart condition ${condition}. Use none, on-failure or any`);
  for (const [field, value] of [
    ['delay', task?.restart?.delayMs ?? 0],
    ['window', task?.restart?.windowMs ?? 0],
    ['stop grace period', task?.container?.stopGracePeriodMs ?? 0],
  ] as const)
    if (value < 0) throw invalid(`invalid ${field} ${value} ms: durations are not negative`);
  return spec.global ? { ...spec, replicated: undefined } : { ...spec, replicated: { replicas } };
}

const maxReplicasPerNodeOf = (spec: ServiceSpec) => spec.taskTemplate?.placement?.maxReplicasPerNode ?? 0;
