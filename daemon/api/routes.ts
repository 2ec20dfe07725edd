import type { Engine } from '../../engine/engine.js';
import type { Swarm } from '../swarm.js';
import type { Route } from './router.js';
import { swarmRoutes } from './swarm.js';
import { systemRoutes } from './system.js';
import { containerRoutes } from './containers.js';
import { imageRoutes } from './images.js';
import { distributionRoutes } from './distribution.js';
import { volumeRoutes } from './volumes.js';
import { networkRoutes } from './networks.js';
import { tswarmRoutes } from './tswarm.js';
import { raftStatusRoutes } from './raft-status.js';

/** What the Engine API's handlers reach: this node's engine and its swarm membership. */
export interface ApiContext {
  hostname: string;
  dataDir: string;
  startedAtMs: number;
  logLevel: string;
  swarm: Swarm;
  engine: Engine;
}

/** Every route of the local Engine API, one group per kind of object (moby's api/swagger.yaml). */
export function apiRoutes(ctx: ApiContext): Route[] {
  return [
    ...systemRoutes(ctx),
    ...containerRoutes(ctx),
    ...imageRoutes(ctx),
    ...distributionRoutes(ctx),
    ...volumeRoutes(ctx),
    ...networkRoutes(ctx),
    ...swarmRoutes(ctx),
    ...tswarmRoutes(ctx),
    ...raftStatusRoutes(ctx),
  ];
}
