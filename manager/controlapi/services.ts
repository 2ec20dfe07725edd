import type { DeepReadonly } from '../../lib/deep-readonly.js';
import { createHash } from 'node:crypto';
import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { ServiceSpec as ServiceSpecCodec, TaskState, type Service, type Task } from '../../gen/tswarm/v1/objects.js';
import type { ListServicesRequest, ListTasksRequest, UpdateServiceRequest } from '../../gen/tswarm/v1/control.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { Store } from '../store/store.js';
import { refusePublishedPortClash, validateServiceName, validateServiceSpec } from './service-spec.js';

/**
 * Services and tasks in the control API: a write checks the spec (service-spec.ts), then is one
 * store transaction; the orchestrator and scheduler (leader-only loops) react to it. Reads serve
 * this manager's copy (after the read barrier, in manager/services.ts).
 */

/**
 * The ID of a service created by request `requestId`: derived from it, so a create retried with
 * the same ID (the daemon retries across a leader change, control-retry.ts) names the same
 * service, and the store's record of applied requests answers it with the first result.
 */
export function serviceIdFor(requestId: string): string {
  if (requestId === '') return newId();
  const digest = createHash('sha256').update(`service\0${requestId}`).digest();
  return newId({ int: () => 0, bytes: (n) => new Uint8Array(digest.subarray(0, n)) });
}

/** A service by full ID, exact name, or unique ID prefix — as `docker service inspect` accepts. */
export function resolveService(store: MemoryStore, ref: string): Service {
  if (!ref) throw new TswarmError('INVALID_ARGUMENT', 'no service given. Name a service by ID, ID prefix or name');
  const exact = store.get('service', ref) ?? store.findByName('service', ref);
  if (exact) return exact;
  const matches = store.list('service', (s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw new TswarmError('NOT_FOUND', `service ${ref} not found. List services with \`tswarm service ls\``);
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `"${ref}" matches ${matches.length} services (${matches.map((s) => s.id.slice(0, 12)).join(', ')}). Use a longer ID prefix`,
  );
}

export async function createService(store: Store, spec: ServiceSpec, requestId: string): Promise<Service> {
  const checked = validateServiceSpec(spec);
  const id = serviceIdFor(requestId);
  // Docker names an unnamed service itself; a name from the ID is unique as the ID is.
  const name = checked.annotations?.name || `service-${id.slice(0, 12)}`;
  const withName: ServiceSpec = { ...checked, annotations: { name, labels: checked.annotations?.labels ?? {} } };
  await store.update(
    (tx, s) => {
      const owner = s.findByName('service', name);
      if (owner && owner.id !== id)
        throw new TswarmError('ALREADY_EXISTS', `a service named "${name}" already exists. Choose another --name`);
      refusePublishedPortClash(withName, id, s.list('service'));
      tx.create('service', {
        id,
        meta: undefined,
        spec: withName,
        previousSpec: undefined,
        endpoint: undefined,
        updateStatus: undefined,
        specVersion: 1,
      });
    },
    { requestId },
  );
  return store.get('service', id)!;
}

type ServiceSpec = NonNullable<Service['spec']>;

function sameSpec(a: ServiceSpec | undefined, b: ServiceSpec): boolean {
  if (!a) return false;
  return Buffer.from(ServiceSpecCodec.encode(a).finish()).equals(ServiceSpecCodec.encode(b).finish());
}

/**
 * Replaces a service's spec, checked against the version the caller read (Docker's
 * `?version=`): a change made since is a CONFLICT, never silently overwritten. The spec version
 * rises only when the spec changes, so tasks made from an older spec can be told apart.
 */
export async function updateService(store: Store, req: UpdateServiceRequest, requestId: string): Promise<Service> {
  const service = resolveService(store.replica, req.serviceId);
  if (req.rollback) throw new TswarmError('UNIMPLEMENTED', 'service rollback is not supported yet');
  if (req.serviceVersion === 0)
    throw new TswarmError('INVALID_ARGUMENT', 'an update names the service version it read. Read the service again');
  const spec = validateServiceSpec(req.spec);
  const name = spec.annotations?.name ?? '';
  if (name !== service.spec?.annotations?.name) {
    validateServiceName(name);
    throw new TswarmError(
      'UNIMPLEMENTED',
      `renaming a service is not supported. Keep the name "${service.spec?.annotations?.name}"`,
    );
  }
  await store.update(
    (tx, s) => {
      const current = s.get('service', service.id);
      if (!current) throw new TswarmError('NOT_FOUND', `service ${req.serviceId} was removed`);
      refusePublishedPortClash(spec, service.id, s.list('service'));
      const changed = !sameSpec(current.spec, spec);
      tx.update('service', {
        ...current,
        // The store checks this version: a change since the caller read it fails with CONFLICT.
        meta: { ...current.meta!, version: req.serviceVersion },
        spec,
        previousSpec: changed ? current.spec : current.previousSpec,
        specVersion: (current.specVersion ?? 0) + (changed ? 1 : 0),
      });
    },
    { requestId },
  );
  return store.get('service', service.id)!;
}

/** Deletes the service; the orchestrator then sends its tasks to REMOVE (they stop, then go). */
export async function removeService(store: Store, ref: string, requestId: string): Promise<void> {
  const service = resolveService(store.replica, ref);
  await store.update(
    (tx, s) => {
      const current = s.get('service', service.id);
      if (current) tx.remove('service', current);
    },
    { requestId },
  );
}

export function listServices(store: MemoryStore, req: ListServicesRequest): Service[] {
  return store
    .list('service', (s) => {
      const name = s.spec?.annotations?.name ?? '';
      if (req.names.length > 0 && !req.names.includes(name)) return false;
      if (req.namePrefixes.length > 0 && !req.namePrefixes.some((p) => name.startsWith(p))) return false;
      if (req.idPrefixes.length > 0 && !req.idPrefixes.some((p) => s.id.startsWith(p))) return false;
      for (const [k, v] of Object.entries(req.labels)) {
        const labels = s.spec?.annotations?.labels ?? {};
        if (!Object.hasOwn(labels, k) || (v !== '' && labels[k] !== v)) return false;
      }
      return true;
    })
    .sort((a, b) => (a.spec?.annotations?.name ?? '').localeCompare(b.spec?.annotations?.name ?? ''));
}

/** A task's name as Docker shows it: SERVICE.SLOT for a replicated service's task. */
export function taskName(task: Task): string {
  const service = task.serviceAnnotations?.name ?? task.serviceId;
  return task.annotations?.name || `${service}.${task.slot}`;
}

export function resolveTask(store: MemoryStore, ref: string): Task {
  if (!ref) throw new TswarmError('INVALID_ARGUMENT', 'no task given. Name a task by ID or ID prefix');
  const exact = store.get('task', ref);
  if (exact) return exact;
  const matches = store.list('task', (t) => t.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new TswarmError('NOT_FOUND', `task ${ref} not found`);
  throw new TswarmError('INVALID_ARGUMENT', `"${ref}" matches ${matches.length} tasks. Use a longer ID prefix`);
}

export function listTasks(store: MemoryStore, req: ListTasksRequest): Task[] {
  const desired = new Set<TaskState>(req.desiredStates);
  // Checked on the stored tasks, so the ones left out are never copied: a client polling one
  // service's running tasks (the CLI's progress display) does not pay for its stopped history.
  const wanted = (t: DeepReadonly<Task>) => {
    if (req.serviceIds.length > 0 && !req.serviceIds.includes(t.serviceId)) return false;
    if (req.nodeIds.length > 0 && !req.nodeIds.includes(t.nodeId)) return false;
    if (desired.size > 0 && !desired.has(t.desiredState)) return false;
    if (req.idPrefixes.length > 0 && !req.idPrefixes.some((p) => t.id.startsWith(p))) return false;
    return true;
  };
  const candidates =
    req.serviceIds.length > 0
      ? req.serviceIds.flatMap((id) => store.tasksOfService(id, wanted))
      : req.nodeIds.length > 0
        ? req.nodeIds.flatMap((id) => store.tasksOfNode(id, wanted))
        : store.list('task', wanted);
  return candidates
    .filter((t) => req.namePrefixes.length === 0 || req.namePrefixes.some((p) => taskName(t).startsWith(p)))
    .sort(
      (a, b) =>
        a.serviceId.localeCompare(b.serviceId) ||
        a.slot - b.slot ||
        (b.meta?.createdAtMs ?? 0) - (a.meta?.createdAtMs ?? 0) ||
        a.id.localeCompare(b.id),
    );
}
