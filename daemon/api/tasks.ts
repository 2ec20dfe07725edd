import type { TaskState } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { managerControl } from './swarm-access.js';
import { matchesLabels, parseFilters } from './list-filters.js';
import { desiredStateFromDocker, dockerTask } from './service-shapes.js';
import type { ControlForwarder } from './control-forwarder.js';

/**
 * `_up-to-date` is dockerd's internal filter that the docker CLI's `service create/update/scale`
 * progress display sends: only tasks made from their service's current spec version.
 */
export const TASK_FILTERS = ['id', 'name', 'service', 'node', 'desired-state', 'label', '_up-to-date'] as const;

/** Filter values that name objects (a service or node by name or ID prefix), as IDs: dockerd resolves them too. */
async function resolveIds(refs: readonly string[], resolve: (ref: string) => Promise<string>): Promise<string[]> {
  return Promise.all(refs.map(resolve));
}

async function serviceIdOf(control: ControlForwarder, ref: string): Promise<string> {
  try {
    return (await control.call('getService', { serviceId: ref })).service!.id;
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND')
      throw new TswarmError('NOT_FOUND', `service ${ref} not found`);
    throw err;
  }
}

/** `/tasks…`: the swarm's tasks, on a manager (moby's swagger: Task). */
export function taskRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/tasks',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const filters = parseFilters(req.query.get('filters'), TASK_FILTERS);
        const serviceIds = await resolveIds(filters.get('service') ?? [], (r) => serviceIdOf(control, r));
        const nodeIds = await resolveIds(
          filters.get('node') ?? [],
          async (r) => (await control.call('getNode', { nodeId: r })).node!.id,
        );
        const desiredStates: TaskState[] = (filters.get('desired-state') ?? []).map(desiredStateFromDocker);
        const { tasks } = await control.call('listTasks', {
          serviceIds,
          nodeIds,
          desiredStates,
          idPrefixes: filters.get('id') ?? [],
          namePrefixes: filters.get('name') ?? [],
        });
        const labels = filters.get('label');
        let shown = tasks.filter((t) => matchesLabels(t.annotations?.labels ?? {}, labels));
        if ((filters.get('_up-to-date') ?? []).some((v) => v === 'true' || v === '1')) {
          const versions = new Map<string, number>();
          for (const id of new Set(shown.map((t) => t.serviceId))) {
            const { service } = await control
              .call('getService', { serviceId: id })
              .catch(() => ({ service: undefined }));
            if (service) versions.set(id, service.specVersion ?? 0);
          }
          shown = shown.filter((t) => versions.get(t.serviceId) === t.specVersion);
        }
        reply.json(200, shown.map(dockerTask));
      },
    },
    {
      method: 'GET',
      path: '/tasks/{id}',
      handler: async (req, reply) => {
        const { task } = await managerControl(ctx).call('getTask', { taskId: req.params.id! });
        reply.json(200, dockerTask(task!));
      },
    },
  ];
}
