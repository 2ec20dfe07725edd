import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { dockerNode, NODE_FILTERS, nodeFilters, nodeSpecFromDocker } from './node-shapes.js';
import { managerControl, rootCa, versionQuery } from './swarm-access.js';
import { nodeTlsInfo } from './tls-info.js';
import { boolParam } from './params.js';
import { parseFilters } from './list-filters.js';

/** `/nodes…`: the swarm's nodes, on a manager, through the control API as `tswarm node` does. */
export function nodeRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/nodes',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const { request, matches } = nodeFilters(parseFilters(req.query.get('filters'), NODE_FILTERS));
        const { nodes } = await control.call('listNodes', request);
        const root = rootCa(ctx);
        reply.json(
          200,
          nodes.filter(matches).map((n) => dockerNode(n, nodeTlsInfo(n, root))),
        );
      },
    },
    {
      method: 'GET',
      path: '/nodes/{id}',
      handler: async (req, reply) => {
        const { node } = await managerControl(ctx).call('getNode', { nodeId: req.params.id! });
        reply.json(200, dockerNode(node!, nodeTlsInfo(node!, rootCa(ctx))));
      },
    },
    {
      method: 'POST',
      path: '/nodes/{id}/update',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const nodeVersion = versionQuery(req, 'node');
        const spec = nodeSpecFromDocker(await req.json());
        await control.call('updateNode', { nodeId: req.params.id!, nodeVersion, spec });
        reply.empty(200);
      },
    },
    {
      method: 'DELETE',
      path: '/nodes/{id}',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        await control.call('removeNode', { nodeId: req.params.id!, force: boolParam(req.query, 'force') });
        reply.empty(200);
      },
    },
  ];
}
