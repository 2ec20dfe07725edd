import { TswarmError } from '../../lib/errors.js';
import { nodeRoutes } from './nodes.js';
import { serviceRoutes } from './services.js';
import { taskRoutes } from './tasks.js';
import { serviceLogRoutes } from './service-logs.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { managerControl, versionQuery } from './swarm-access.js';
import { boolParam } from './params.js';
import { dockerSwarm } from './swarm-shapes.js';
import { clusterSpecFromDocker, initRequestFromDocker, joinRequestFromDocker } from './swarm-spec.js';

/** dockerd's words for init or join on a node already in a swarm (moby daemon/cluster/errors.go). */
export const SWARM_EXISTS =
  'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const NO_SWARM = 'This node is not part of a swarm';

function requireNoSwarm(ctx: ApiContext): void {
  if (ctx.swarm.node.role !== 'none') throw new TswarmError('UNAVAILABLE', SWARM_EXISTS);
}

/** Refuses a manager's leave without force, in dockerd's words with tswarm's count of managers. */
function checkLeave(ctx: ApiContext, force: boolean): void {
  if (ctx.swarm.node.role === 'none') throw new TswarmError('NOT_IN_SWARM', NO_SWARM);
  if (ctx.swarm.node.role !== 'manager' || force) return;
  const voters = ctx.swarm.localManager?.raftStatus().voters.length ?? 1;
  let msg = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
  if (voters <= 1) {
    msg += 'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ';
    throw new TswarmError('UNAVAILABLE', msg.trim());
  }
  if (voters - 1 < Math.floor(voters / 2) + 1)
    msg += `Removing this node leaves ${voters - 1} managers out of ${voters}. Without a Raft quorum your swarm will be inaccessible. `;
  msg +=
    'The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.';
  throw new TswarmError('UNAVAILABLE', msg);
}

/** `/swarm…`: this node's membership (init, join, leave) and the cluster (inspect, update); then `/nodes…`. */
export function swarmRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/swarm/init',
      handler: async (req, reply) => {
        const init = initRequestFromDocker(await req.json());
        if (!init.forceNewCluster) requireNoSwarm(ctx);
        const res = await ctx.swarm.init(init);
        reply.json(200, res.nodeId);
      },
    },
    {
      method: 'POST',
      path: '/swarm/join',
      handler: async (req, reply) => {
        const join = joinRequestFromDocker(await req.json());
        requireNoSwarm(ctx);
        await ctx.swarm.join(join);
        reply.empty(200);
      },
    },
    {
      method: 'POST',
      path: '/swarm/leave',
      handler: async (req, reply) => {
        const force = boolParam(req.query, 'force');
        checkLeave(ctx, force);
        await ctx.swarm.leave(force);
        reply.empty(200);
      },
    },
    {
      method: 'GET',
      path: '/swarm',
      handler: async (_req, reply) => {
        // Docker's GET /swarm carries JoinTokens (`docker swarm join-token` reads them there).
        const { cluster } = await managerControl(ctx).call('getCluster', { clusterId: '', includeJoinTokens: true });
        reply.json(200, dockerSwarm(cluster!));
      },
    },
    {
      method: 'POST',
      path: '/swarm/update',
      handler: async (req, reply) => {
        const control = managerControl(ctx);
        const version = versionQuery(req, 'swarm');
        const rotateWorkerToken = boolParam(req.query, 'rotateWorkerToken');
        const rotateManagerToken = boolParam(req.query, 'rotateManagerToken');
        if (boolParam(req.query, 'rotateManagerUnlockKey'))
          throw new TswarmError(
            'UNIMPLEMENTED',
            'autolock is not supported by tswarm, so there is no unlock key to rotate',
          );
        const body = await req.json();
        const { cluster } = await control.call('getCluster', { clusterId: '', includeJoinTokens: false });
        await control.call('updateCluster', {
          clusterId: cluster!.id,
          clusterVersion: version,
          spec: clusterSpecFromDocker(body, cluster!.spec!),
          rotateWorkerToken,
          rotateManagerToken,
        });
        reply.empty(200);
      },
    },
    {
      method: 'GET',
      path: '/swarm/unlockkey',
      handler: async (_req, reply) => {
        managerControl(ctx);
        // Autolock does not exist in tswarm: the swarm has no unlock key, as dockerd answers without autolock.
        reply.json(200, { UnlockKey: '' });
      },
    },
    {
      method: 'POST',
      path: '/swarm/unlock',
      handler: async () => {
        throw new TswarmError('CONFLICT', 'swarm is not locked');
      },
    },
    ...nodeRoutes(ctx),
    ...serviceRoutes(ctx),
    ...taskRoutes(ctx),
    ...serviceLogRoutes(ctx),
  ];
}
