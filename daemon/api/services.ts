import { NodeState, TaskState } from '../../gen/tswarm/v1/objects.js';
import { TswarmError } from '../../lib/errors.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { managerControl, versionQuery } from './swarm-access.js';
import { boolParam } from './params.js';
import { matchesLabels, parseFilters } from './list-filters.js';
import { dockerService, serviceCounts, serviceSpecFromDocker } from './service-shapes.js';
import type { ControlForwarder } from './control-forwarder.js';
import { pullOptionsForUpdate, pullOptionsFromHeader, withPullOptions } from './service-registry-auth.js';

export const SERVICE_FILTERS = ['id', 'name', 'label', 'mode'] as const;

/** Docker's 404 words for a service (the docker CLI prints "No such service" itself on a 404). */
async function getService(control: ControlForwarder, ref: string) {
  try {
    return (await control.call('getService', { serviceId: ref })).service!;
  } catch (err) {
    if (err instanceof TswarmError && err.code === 'NOT_FOUND')
      throw new TswarmError('NOT_FOUND', `service ${ref} not found`);
    throw err;
  }
}

/** The live nodes' IDs and every task meant to run, for `ServiceStatus` (what `service ls` counts). */
async function countsFor(control: ControlForwarder, serviceIds: string[]) {
  const [{ tasks }, { nodes }] = await Promise.all([
    control.call('listTasks', {
      serviceIds,
      nodeIds: [],
      // A job's tasks are meant to COMPLETE.
      desiredStates: [TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_COMPLETE],
      idPrefixes: [],
      namePrefixes: [],
    }),
    control.call('listNodes', { names: [], idPrefixes: [], roles: [], labels: {} }),
  ]);
  const live = new Set(nodes.filter((n) => n.status?.state !== NodeState.NODE_STATE_DOWN).map((n) => n.id));
  return { tasks, live };
}

/** `/services…`: the swarm's services, on a manager, through the control API (moby's swagger: Service). */
export function serviceRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/services',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const filters = parseFilters(req.query.get('filters'), SERVICE_FILTERS);
        for (const m of filters.get('mode') ?? [])
          if (m !== 'replicated' && m !== 'global')
            throw new TswarmError('INVALID_ARGUMENT', `Invalid filter: 'mode'='${m}'. Use replicated or global`);
        const wantsGlobalOnly = (filters.get('mode') ?? []).every((m) => m === 'global') && filters.has('mode');
        const { services } = await control.call('listServices', {
          names: [],
          namePrefixes: filters.get('name') ?? [],
          idPrefixes: filters.get('id') ?? [],
          labels: {},
        });
        const listed = services.filter(
          (s) => !wantsGlobalOnly && matchesLabels(s.spec?.annotations?.labels ?? {}, filters.get('label')),
        );
        if (!boolParam(req.query, 'status'))
          return reply.json(
            200,
            listed.map((s) => dockerService(s)),
          );
        const { tasks, live } = await countsFor(
          control,
          listed.map((s) => s.id),
        );
        reply.json(
          200,
          listed.map((s) =>
            dockerService(
              s,
              serviceCounts(
                s,
                tasks.filter((t) => t.serviceId === s.id),
                live,
              ),
            ),
          ),
        );
      },
    },
    {
      method: 'POST',
      path: '/services/create',
      handler: async (req, reply) => {
        const pullOptions = pullOptionsFromHeader(req.headers['x-registry-auth']);
        const spec = withPullOptions(serviceSpecFromDocker(await req.json()), pullOptions);
        const { service } = await managerControl(ctx).call('createService', { spec });
        reply.json(201, { ID: service!.id, Warnings: [] });
      },
    },
    {
      method: 'GET',
      path: '/services/{id}',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const service = await getService(control, req.params.id!);
        const { tasks, live } = await countsFor(control, [service.id]);
        reply.json(200, dockerService(service, serviceCounts(service, tasks, live)));
      },
    },
    {
      method: 'POST',
      path: '/services/{id}/update',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const serviceVersion = versionQuery(req, 'service');
        if (req.query.get('rollback') === 'previous')
          throw new TswarmError('UNIMPLEMENTED', 'service rollback is not supported yet');
        const given = serviceSpecFromDocker(await req.json());
        const service = await getService(control, req.params.id!);
        const pullOptions = pullOptionsForUpdate(
          req.headers['x-registry-auth'],
          req.query.get('registryAuthFrom'),
          service,
        );
        const spec = withPullOptions(given, pullOptions);
        await control.call('updateService', { serviceId: service.id, serviceVersion, spec, rollback: false });
        reply.json(200, { Warnings: [] });
      },
    },
    {
      method: 'DELETE',
      path: '/services/{id}',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const service = await getService(control, req.params.id!);
        await control.call('removeService', { serviceId: service.id });
        reply.empty(200);
      },
    },
  ];
}
