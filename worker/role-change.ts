import type { HeartbeatResponse } from '../gen/tswarm/v1/dispatcher.js';
import { NodeRole } from '../gen/tswarm/v1/objects.js';
import type { NodeRoleName } from '../ca/node-certificate.js';
import type { Logger } from '../lib/log.js';

/** The role the cluster wants this node in, as a heartbeat response says it. */
export function desiredRole(res: HeartbeatResponse): NodeRoleName {
  return res.desiredRole === NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
}

/** The role change to start on this response, if any: only when the wish differs, and one at a time. */
export function roleChangeToStart(
  res: HeartbeatResponse,
  currentRole: string,
  changing: boolean,
): NodeRoleName | undefined {
  const want = desiredRole(res);
  return want !== currentRole && !changing ? want : undefined;
}

/** The managers a demoted node heartbeats to, and renews through: those the response names, itself left out. */
export function managersAfterDemotion(res: HeartbeatResponse, selfId: string): string[] {
  return res.managers.filter((m) => m.nodeId !== selfId && m.addr !== '').map((m) => m.addr);
}

/** The manager a promoted node joins Raft through: one the response names, else one it joined through. */
export function promotionJoinAddr(res: HeartbeatResponse, joinAddrs: string[]): string {
  return res.managers.map((m) => m.addr).find((a) => a !== '') ?? joinAddrs[0] ?? '';
}

/** What a role change does to the node; the node that composes the parts supplies it. */
export interface RoleChangeSteps {
  log: Logger;
  node(): { nodeId: string; role: string; joinAddrs: string[] };
  /**
   * A certificate for the role the cluster now records for this node, from one of `managers` (in
   * order, the first that answers); none named: through the manager the node dials by default.
   */
  renewCertificate(managers: string[]): Promise<void>;
  /** Stop the manager parts and follow these managers. */
  becomeWorker(managers: string[]): Promise<void>;
  /** Start the manager parts, joining Raft through this manager; throws if they do not start. */
  becomeManager(joinAddr: string): Promise<void>;
  /** The change failed; the next heartbeat that still asks for it tries again. */
  failed(message: string): void;
}

/**
 * Promotion or demotion decided by the cluster, seen in heartbeat responses: a certificate for the
 * new role, then the parts to match. One change at a time; a failed one is retried on a later beat.
 */
export class RoleChanger {
  private changing: Promise<void> | undefined;

  constructor(private readonly steps: RoleChangeSteps) {}

  onHeartbeat(res: HeartbeatResponse): void {
    const want = roleChangeToStart(res, this.steps.node().role, this.changing !== undefined);
    if (want) this.changing = this.change(want, res).finally(() => (this.changing = undefined));
  }

  private async change(want: NodeRoleName, res: HeartbeatResponse): Promise<void> {
    const s = this.steps;
    try {
      s.log.info({ from: s.node().role, to: want }, 'the cluster changed this node’s role');
      // A demoted manager's own manager is leaving Raft (or has left) and has no leader to forward
      // to: the certificate must come from a manager still in Raft, one of the others.
      const others = managersAfterDemotion(res, s.node().nodeId);
      await s.renewCertificate(want === 'worker' ? others : []);
      if (want === 'worker') await s.becomeWorker(others);
      else await s.becomeManager(promotionJoinAddr(res, s.node().joinAddrs));
    } catch (err) {
      s.failed(`role change to ${want} failed: ${(err as Error).message}`);
      s.log.warn({ err: (err as Error).message }, 'role change failed; will retry on the next heartbeat');
    }
  }
}
