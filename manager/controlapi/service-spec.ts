import { TswarmError } from '../../lib/errors.js';
import {
  EndpointMode,
  PortProtocol,
  PublishMode,
  RestartCondition,
  type EndpointSpec,
  type PortConfig,
  type Resources,
  type RestartPolicy,
  type Service,
  type ServiceSpec,
} from '../../gen/tswarm/v1/objects.js';
import { checkContainerSpec } from '../../lib/container-spec-checks.js';
import { parseConstraints } from '../scheduler/constraint.js';
import { parseSpreadDescriptor } from '../scheduler/spread-tree.js';

/**
 * A service spec checked before anything is written (`service create` and `update`, from the
 * gRPC control API and the Engine API alike): every error names the field and what to do, and
 * nothing is created. The scheduler's parsers check constraints and spread preferences, and the
 * engine's own container checks (lib/container-spec-checks.ts) the task's container, so a spec
 * accepted here is one the scheduler can read and every worker's engine can run.
 */

/** Replicas of one service: a bound so one request cannot ask the orchestrator for millions of tasks. */
export const SERVICE_REPLICAS_MAX = 10_000;
/** A CPU amount beyond any machine's (1,024 CPUs), in nano CPUs. */
export const NANO_CPUS_MAX = 1_024 * 1e9;
/** A memory amount beyond any machine's (1 PiB). */
export const MEMORY_BYTES_MAX = 2 ** 50;
export const PIDS_MAX = 2 ** 22;
/** Restart attempts beyond any use (0 is "no limit"). */
export const RESTART_ATTEMPTS_MAX = 1_000_000;
/** Published ports of one service: more than any service exposes. */
export const PORTS_MAX = 1_000;
const PORT_MAX = 65_535;
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

/** The restart policy is carried as given (the restart supervisor reads it); its values must make sense. */
function validateRestart(restart: RestartPolicy | undefined): void {
  if (!restart) return;
  if (RestartCondition[restart.condition] === undefined)
    throw invalid(`invalid restart condition ${restart.condition}. Use none, on-failure or any`);
  // An unset delay is the default (5 s); a given one, like the window, is never negative.
  for (const [flag, value] of [
    ['--restart-delay', restart.delayMs ?? 0],
    ['--restart-window', restart.windowMs],
  ] as const)
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalid(
        `invalid restart ${flag.slice(10)} ${value} ms: durations are not negative. Give ${flag} 0s or more`,
      );
  if (
    !Number.isSafeInteger(restart.maxAttempts) ||
    restart.maxAttempts < 0 ||
    restart.maxAttempts > RESTART_ATTEMPTS_MAX
  )
    throw invalid(
      `invalid restart max attempts ${restart.maxAttempts}. Give --restart-max-attempts between 0 (no limit) and ${RESTART_ATTEMPTS_MAX}`,
    );
}

const PROTOCOL_WORD: Record<number, string> = {
  [PortProtocol.PORT_PROTOCOL_UNSPECIFIED]: 'tcp',
  [PortProtocol.PORT_PROTOCOL_TCP]: 'tcp',
  [PortProtocol.PORT_PROTOCOL_UDP]: 'udp',
  [PortProtocol.PORT_PROTOCOL_SCTP]: 'sctp',
};

function validatePort(p: PortConfig): void {
  if (!Number.isSafeInteger(p.targetPort) || p.targetPort < 1 || p.targetPort > PORT_MAX)
    throw invalid(`invalid target port ${p.targetPort}. Give --publish with target between 1 and ${PORT_MAX}`);
  if (!Number.isSafeInteger(p.publishedPort) || p.publishedPort < 0 || p.publishedPort > PORT_MAX)
    throw invalid(
      `invalid published port ${p.publishedPort}. Give --publish with published between 1 and ${PORT_MAX} (or none: the swarm picks one)`,
    );
  if (PROTOCOL_WORD[p.protocol] === undefined)
    throw invalid(`invalid port protocol ${p.protocol} for target port ${p.targetPort}. Use tcp, udp or sctp`);
  if (PublishMode[p.publishMode] === undefined)
    throw invalid(`invalid publish mode ${p.publishMode} for target port ${p.targetPort}. Use ingress or host`);
}

/**
 * The published ports (stored now; routed when networking comes): SwarmKit's rules — a published
 * port and protocol once per service, and the routing mesh (ingress) needs a VIP, so not dnsrr.
 */
function validateEndpoint(endpoint: EndpointSpec | undefined): void {
  if (!endpoint) return;
  if (EndpointMode[endpoint.mode] === undefined)
    throw invalid(`invalid endpoint mode ${endpoint.mode}. Use vip or dnsrr`);
  if (endpoint.ports.length > PORTS_MAX)
    throw invalid(`too many published ports (${endpoint.ports.length}). Give at most ${PORTS_MAX}`);
  const seen = new Set<string>();
  for (const p of endpoint.ports) {
    validatePort(p);
    const ingress = p.publishMode !== PublishMode.PUBLISH_MODE_HOST;
    if (endpoint.mode === EndpointMode.ENDPOINT_MODE_DNSRR && ingress)
      throw invalid(
        `port ${p.targetPort} is published in ingress mode, which needs a virtual IP: it cannot be used with endpoint mode dnsrr. Publish it with mode=host`,
      );
    if (p.publishedPort === 0) continue;
    const key = `${p.publishedPort}/${PROTOCOL_WORD[p.protocol]}`;
    if (seen.has(key)) throw invalid(`port ${key} is published twice. Publish each port once`);
    seen.add(key);
  }
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
  const job = spec.replicatedJob;
  if (job) {
    for (const [what, value, flag] of [
      ['total completions', job.totalCompletions, '--replicas'],
      ['max concurrent', job.maxConcurrent, '--max-concurrent'],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 0 || value > SERVICE_REPLICAS_MAX)
        throw invalid(`invalid ${what} ${value}. Give ${flag} between 0 and ${SERVICE_REPLICAS_MAX}`);
  }
  // A global service (or job) has no replica count: one task per eligible node; a job counts completions.
  const replicas = spec.replicated ? spec.replicated.replicas : spec.global || spec.globalJob || job ? 0 : 1;
  if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > SERVICE_REPLICAS_MAX)
    throw invalid(`invalid replicas ${replicas}. Give --replicas between 0 and ${SERVICE_REPLICAS_MAX}`);
  if ((spec.global || spec.globalJob) && maxReplicasPerNodeOf(spec) > 0)
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
  validateRestart(task?.restart);
  if (task?.container) checkContainerSpec(task.container);
  validateEndpoint(spec.endpoint);
  if (spec.replicated || !(spec.global || spec.globalJob || job)) return { ...spec, replicated: { replicas } };
  return job || spec.globalJob ? withJobRestartDefault(spec) : spec;
}

/**
 * A job's task that fails is run again, one that completes is not: Docker's default restart
 * condition for jobs is on-failure, where a service's is any.
 */
function withJobRestartDefault(spec: ServiceSpec): ServiceSpec {
  const template = spec.taskTemplate!;
  const restart = template.restart;
  if (restart && restart.condition !== RestartCondition.RESTART_CONDITION_UNSPECIFIED) return spec;
  return {
    ...spec,
    taskTemplate: {
      ...template,
      restart: {
        maxAttempts: 0,
        windowMs: 0,
        ...restart,
        condition: RestartCondition.RESTART_CONDITION_ON_FAILURE,
      },
    },
  };
}

/** The routing mesh's ports of a spec, as `PORT/PROTOCOL` keys (host-mode ports are each node's own). */
function ingressPorts(spec: ServiceSpec | undefined): string[] {
  return (spec?.endpoint?.ports ?? [])
    .filter((p) => p.publishMode !== PublishMode.PUBLISH_MODE_HOST && p.publishedPort !== 0)
    .map((p) => `${p.publishedPort}/${PROTOCOL_WORD[p.protocol] ?? 'tcp'}`);
}

/**
 * A port the routing mesh publishes belongs to one service in the swarm (SwarmKit refuses a
 * second at create and update): refuses `spec` when another of `services` publishes one of its
 * ports. Run inside the store transaction, against the services it reads.
 */
export function refusePublishedPortClash(spec: ServiceSpec, serviceId: string, services: readonly Service[]): void {
  const wanted = new Set(ingressPorts(spec));
  if (wanted.size === 0) return;
  for (const other of services) {
    if (other.id === serviceId) continue;
    const clash = ingressPorts(other.spec).find((p) => wanted.has(p));
    if (clash)
      throw invalid(
        `port ${clash} is already published by service ${other.spec?.annotations?.name ?? other.id} (${other.id.slice(0, 12)}). Publish another port, or remove that one first`,
      );
  }
}

const maxReplicasPerNodeOf = (spec: ServiceSpec) => spec.taskTemplate?.placement?.maxReplicasPerNode ?? 0;
