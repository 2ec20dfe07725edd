import { TSWARM_API_PREFIX } from '../../lib/api-version.js';
import { TswarmError } from '../../lib/errors.js';
import type { NodeStatus } from '../../manager/raft/node/options.js';
import type { DroppedCounts } from '../../manager/raft/transport/dropped.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { NOT_IN_SWARM_MANAGER, WORKER_NOT_MANAGER } from './swarm-access.js';

/** This manager's Raft member as `GET /tswarm/raft` shows it (Docker has no such endpoint). */
export function raftStatusShape(s: NodeStatus, dropped: DroppedCounts): Record<string, unknown> {
  return {
    NodeID: s.id,
    Term: s.term,
    Leader: s.leader,
    Role: s.role,
    Commit: s.commit,
    Applied: s.applied,
    Voters: s.voters,
    Learners: s.learners,
    // What the Raft transport refused before this member saw it (docs/security.md).
    DroppedMessages: { Total: dropped.total, ByReason: dropped.byReason },
  };
}

/** `GET /tswarm/raft`: this manager's Raft state and the transport's drop counters; managers only. */
export function raftStatusRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      path: `${TSWARM_API_PREFIX}/raft`,
      handler: async (_req, reply) => {
        if (ctx.swarm.node.role === 'none') throw new TswarmError('NOT_IN_SWARM', NOT_IN_SWARM_MANAGER);
        const manager = ctx.swarm.localManager;
        if (!manager) throw new TswarmError('NOT_A_MANAGER', WORKER_NOT_MANAGER);
        reply.json(200, raftStatusShape(manager.raftStatus(), manager.raftDroppedMessages()));
      },
    },
  ];
}
