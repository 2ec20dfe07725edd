import { newId } from '../../lib/ids.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Cluster, ClusterSpec } from '../../gen/tswarm/v1/objects.js';
import { caBundleDigest, createJoinToken } from '../../ca/join-token.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { NODE_CERT_VALIDITY_MS_DEFAULT } from '../../ca/node-certificate.js';
import { createRootCA, loadRootCA } from '../ca/root-ca.js';
import { issueNodeCertificate } from '../ca/sign-certificate.js';

/** Defaults of a new cluster (docs/architecture.md, Timing defaults). */
export const RAFT_TICK_MS_DEFAULT = 100;
export const ELECTION_TICKS_DEFAULT = 10;
export const HEARTBEAT_TICKS_DEFAULT = 1;
export const SNAPSHOT_INTERVAL_DEFAULT = 10_000;
export const DISPATCHER_HEARTBEAT_MS_DEFAULT = 1_000;

export function defaultClusterSpec(): ClusterSpec {
  return {
    annotations: { name: 'default', labels: {} },
    orchestration: { taskHistoryRetentionLimit: 5 },
    raft: {
      snapshotInterval: SNAPSHOT_INTERVAL_DEFAULT,
      keepOldSnapshots: 2,
      heartbeatTick: HEARTBEAT_TICKS_DEFAULT,
      electionTick: ELECTION_TICKS_DEFAULT,
      tickMs: RAFT_TICK_MS_DEFAULT,
    },
    dispatcher: { heartbeatPeriodMs: DISPATCHER_HEARTBEAT_MS_DEFAULT },
    caConfig: {
      nodeCertExpiryMs: NODE_CERT_VALIDITY_MS_DEFAULT,
      forceRotate: 0,
      signingCaCertPem: Buffer.alloc(0),
      signingCaKeyPem: Buffer.alloc(0),
    },
  };
}

export interface NewCluster {
  cluster: Cluster;
  nodeId: string;
  keyPem: string;
  certPem: string;
}

/**
 * What `tswarm init` creates before anything runs: a cluster ID, the root CA (its key kept in the
 * cluster object, which only managers hold), both join tokens, and this node's manager identity.
 */
export async function newCluster(
  spec: ClusterSpec = defaultClusterSpec(),
  clock: Clock = systemClock,
): Promise<NewCluster> {
  const clusterId = newId();
  const nodeId = newId();
  const rootCA = await createRootCA(clock);
  const digest = caBundleDigest(rootCA.certPem);
  const { keyPem, csrPem } = await createKeyAndCsr();
  const certPem = await issueNodeCertificate({
    ca: await loadRootCA(rootCA),
    csrPem,
    identity: { nodeId, role: 'manager', clusterId },
    validityMs: spec.caConfig?.nodeCertExpiryMs || NODE_CERT_VALIDITY_MS_DEFAULT,
    clock,
  });
  const cluster: Cluster = {
    id: clusterId,
    meta: undefined,
    spec,
    rootCa: {
      caKeyPem: Buffer.from(rootCA.keyPem),
      caCertPem: Buffer.from(rootCA.certPem),
      caCertDigest: digest.toString('hex'),
      joinTokens: { worker: createJoinToken(digest).text, manager: createJoinToken(digest).text },
      rootRotation: undefined,
      lastForcedRotation: 0,
    },
  };
  return { cluster, nodeId, keyPem, certPem };
}
