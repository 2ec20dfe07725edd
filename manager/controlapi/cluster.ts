import { TswarmError } from '../../lib/errors.js';
import type { Cluster } from '../../gen/tswarm/v1/objects.js';
import type { UpdateClusterRequest } from '../../gen/tswarm/v1/control.js';
import { createJoinToken } from '../../ca/join-token.js';
import { NODE_CERT_VALIDITY_MS_MIN } from '../../ca/node-certificate.js';
import { theCluster } from '../store/cluster-objects.js';
import type { Store } from '../store/store.js';

/**
 * The cluster as the API shows it: never with the CA key, which stays in the managers' store, and
 * with the join tokens only for a caller that asked for them (GetClusterRequest.include_join_tokens:
 * the Engine API's GET /swarm, which `join-token` reads): they are secrets that add a node.
 */
export function redactCluster(cluster: Cluster, opts: { includeJoinTokens: boolean }): Cluster {
  if (!cluster.rootCa) return { ...cluster };
  const joinTokens = opts.includeJoinTokens ? cluster.rootCa.joinTokens : { worker: '', manager: '' };
  return { ...cluster, rootCa: { ...cluster.rootCa, caKeyPem: Buffer.alloc(0), joinTokens } };
}

/**
 * Changes the cluster's settings and rotates join tokens. A rotated token stops working for new
 * joins at once; nodes that joined with it keep their certificates.
 */
export async function updateCluster(store: Store, req: UpdateClusterRequest): Promise<Cluster> {
  const expiryMs = req.spec?.caConfig?.nodeCertExpiryMs;
  if (expiryMs !== undefined && expiryMs !== 0 && expiryMs < NODE_CERT_VALIDITY_MS_MIN) {
    throw new TswarmError('INVALID_ARGUMENT', `certificate expiry must be at least 1h, got ${expiryMs} ms`);
  }
  await store.update((tx, s) => {
    const cluster = theCluster(s);
    if (req.clusterVersion !== 0 && req.clusterVersion !== cluster.meta!.version) {
      cluster.meta = { ...cluster.meta!, version: req.clusterVersion };
    }
    if (req.spec) {
      const [was, want] = [cluster.spec?.raft, req.spec.raft];
      if (
        want &&
        (want.tickMs !== (was?.tickMs ?? 0) ||
          want.electionTick !== (was?.electionTick ?? 0) ||
          want.heartbeatTick !== (was?.heartbeatTick ?? 0))
      ) {
        // Managers take their timings when they start or join (node.json): a change here would
        // leave the running ones on the old values, mixed with newcomers on the new.
        throw new TswarmError(
          'FAILED_PRECONDITION',
          'the Raft tick and election/heartbeat ticks are fixed when the swarm is created. Keep them as they are',
        );
      }
      cluster.spec = req.spec;
    }
    const digest = Buffer.from(cluster.rootCa!.caCertDigest, 'hex');
    if (req.rotateWorkerToken) cluster.rootCa!.joinTokens!.worker = createJoinToken(digest).text;
    if (req.rotateManagerToken) cluster.rootCa!.joinTokens!.manager = createJoinToken(digest).text;
    tx.update('cluster', cluster);
  });
  return redactCluster(theCluster(store.replica), { includeJoinTokens: false });
}
