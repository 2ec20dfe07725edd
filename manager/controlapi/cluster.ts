import { TswarmError } from '../../lib/errors.js';
import type { Cluster, ClusterSpec, RootCA } from '../../gen/tswarm/v1/objects.js';
import type { UpdateClusterRequest } from '../../gen/tswarm/v1/control.js';
import { createJoinToken } from '../../ca/join-token.js';
import { NODE_CERT_VALIDITY_MS_MIN } from '../../ca/node-certificate.js';
import { theCluster } from '../store/cluster-objects.js';
import type { Store } from '../store/store.js';
import { planRotation } from '../ca/rotation.js';
import { systemClock, type Clock } from '../../lib/clock.js';

/**
 * The cluster as the API shows it: never with a CA key (the current root's or a rotation's), which
 * stay in the managers' store, and with the join tokens only for a caller that asked for them
 * (GetClusterRequest.include_join_tokens: the Engine API's GET /swarm, which `join-token` reads):
 * they are secrets that add a node.
 */
export function redactCluster(cluster: Cluster, opts: { includeJoinTokens: boolean }): Cluster {
  const root = cluster.rootCa;
  if (!root) return { ...cluster };
  const joinTokens = opts.includeJoinTokens ? root.joinTokens : { worker: '', manager: '' };
  return {
    ...cluster,
    rootCa: {
      ...root,
      caKeyPem: Buffer.alloc(0),
      joinTokens,
      rootRotation: root.rootRotation ? { ...root.rootRotation, caKeyPem: Buffer.alloc(0) } : undefined,
    },
  };
}

/** The spec as stored: an operator's signing root goes into RootCA.root_rotation, never into the spec. */
function withoutSigningRoot(spec: ClusterSpec): ClusterSpec {
  if (!spec.caConfig) return spec;
  return {
    ...spec,
    caConfig: { ...spec.caConfig, signingCaCertPem: Buffer.alloc(0), signingCaKeyPem: Buffer.alloc(0) },
  };
}

function sameRoot(a: RootCA | undefined, b: RootCA | undefined): boolean {
  const cert = (r: RootCA | undefined) => Buffer.from(r?.caCertPem ?? new Uint8Array()).toString();
  const next = (r: RootCA | undefined) => Buffer.from(r?.rootRotation?.caCertPem ?? new Uint8Array()).toString();
  return cert(a) === cert(b) && next(a) === next(b);
}

/**
 * Changes the cluster's settings, rotates join tokens, and starts a root CA rotation when the CA
 * config asks for one (a raised force-rotate, or a given signing root; manager/ca/rotation.ts). A
 * rotated token stops working for new joins at once; nodes that joined with it keep their
 * certificates.
 */
export async function updateCluster(
  store: Store,
  req: UpdateClusterRequest,
  requestId = '',
  clock: Clock = systemClock,
): Promise<Cluster> {
  const expiryMs = req.spec?.caConfig?.nodeCertExpiryMs;
  if (expiryMs !== undefined && expiryMs !== 0 && expiryMs < NODE_CERT_VALIDITY_MS_MIN) {
    throw new TswarmError('INVALID_ARGUMENT', `certificate expiry must be at least 1h, got ${expiryMs} ms`);
  }
  const before = theCluster(store.replica).rootCa;
  const ca = req.spec?.caConfig;
  // Key generation and cross-signing happen outside the transaction; it checks the root did not move meanwhile.
  const rotated =
    ca && before
      ? await planRotation(
          before,
          {
            forceRotate: ca.forceRotate,
            signingCaCertPem: Buffer.from(ca.signingCaCertPem).toString(),
            signingCaKeyPem: Buffer.from(ca.signingCaKeyPem).toString(),
          },
          clock,
        )
      : undefined;
  await store.update(
    (tx, s) => {
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
        cluster.spec = withoutSigningRoot(req.spec);
      }
      if (rotated) {
        if (!sameRoot(cluster.rootCa, before))
          throw new TswarmError(
            'CONFLICT',
            'the root CA changed while the rotation was prepared (another rotation started or finished). Run it again',
          );
        cluster.rootCa = { ...rotated, joinTokens: cluster.rootCa!.joinTokens };
      }
      const digest = Buffer.from(cluster.rootCa!.caCertDigest, 'hex');
      if (req.rotateWorkerToken) cluster.rootCa!.joinTokens!.worker = createJoinToken(digest).text;
      if (req.rotateManagerToken) cluster.rootCa!.joinTokens!.manager = createJoinToken(digest).text;
      tx.update('cluster', cluster);
    },
    { requestId },
  );
  return redactCluster(theCluster(store.replica), { includeJoinTokens: false });
}
