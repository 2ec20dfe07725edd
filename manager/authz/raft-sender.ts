import { peerIdentity } from '../../lib/tls.js';
import type { AuthorizeSender } from '../raft/transport/server.js';

/**
 * Who may deliver Raft messages to this manager: every message (and snapshot stream) the
 * transport receives names its sender, and this check runs before the node loop sees it. Today
 * it asks the verified certificate alone — the sender's CN must be the `from` it claims, in this
 * cluster, with the manager OU. docs/security.md (Known gaps) says what that still lets through
 * and what the trust work changes here: membership of the Raft configuration and the role the
 * store holds.
 */
export function raftSenderAuthorizer(clusterId: string): AuthorizeSender {
  return (call, fromId) => {
    const peer = peerIdentity(call);
    return peer !== undefined && peer.nodeId === fromId && peer.clusterId === clusterId && peer.ou === 'tswarm-manager';
  };
}
