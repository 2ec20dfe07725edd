import { TswarmError } from '../../lib/errors.js';
import type { RootCA } from '../../gen/tswarm/v1/objects.js';
import { controlForwarder, type ControlForwarder } from './control-forwarder.js';
import type { ApiRequest } from './router.js';
import type { ApiContext } from './routes.js';

/**
 * What dockerd answers where the cluster's state is asked of a node that cannot show it
 * (moby daemon/cluster: errNoManager): the docker CLI prints these words.
 */
export const NOT_IN_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const WORKER_NOT_MANAGER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
const MANAGER_NOT_READY =
  'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.';

/** The control API, for a manager only: elsewhere dockerd's 503 with its words. */
export function managerControl(ctx: ApiContext): ControlForwarder {
  const role = ctx.swarm.node.role;
  if (role === 'none') throw new TswarmError('NOT_IN_SWARM', NOT_IN_SWARM_MANAGER);
  if (role !== 'manager') throw new TswarmError('NOT_A_MANAGER', WORKER_NOT_MANAGER);
  if (!ctx.swarm.localManager) throw new TswarmError('NOT_A_MANAGER', MANAGER_NOT_READY);
  return controlForwarder(ctx.swarm);
}

/** The cluster's root CA (certificates, and a rotation's), as this manager's copy of the store holds it. */
export function rootCa(ctx: ApiContext): RootCA | undefined {
  return ctx.swarm.localManager?.cluster()?.rootCa;
}

/**
 * The `version` query parameter of an update: the object's `Version.Index` as the client read
 * it. Required: an update without it could overwrite a change the client never saw.
 */
export function versionQuery(req: ApiRequest, what: 'node' | 'swarm' | 'service'): number {
  const raw = req.query.get('version') ?? '';
  const v = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || v === 0) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid ${what} version '${raw}'. Give the Version.Index the ${what} was read with, e.g. ?version=12`,
    );
  }
  return v;
}
