import type { Engine } from '../../engine/engine.js';
import type { Route } from './router.js';
import { containerRef, noSuchContainer } from './params.js';

/**
 * `GET /containers/{id}/top?ps_args=`: the container's processes as the host's ps shows them
 * (dockerd runs ps too). Docker's ContainerTopResponse: `Titles`, and `Processes` — null when
 * there is none to show, as dockerd's empty Go slice comes out.
 */
export function topRoute(engine: Engine): Route {
  return {
    method: 'GET',
    path: '/containers/{id}/top',
    handler: async (req, reply) => {
      const ref = containerRef(req.params);
      const id = noSuchContainer(ref, () => engine.containerInspect(ref)).container!.id;
      const top = await engine.containerTop(id, req.query.get('ps_args') ?? '');
      reply.json(200, { Titles: top.titles, Processes: top.processes.length > 0 ? top.processes : null });
    },
  };
}
