import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/**
 * Which manager a node expects at the address it dials. TLS alone checks that the server holds
 * *a* certificate of the cluster's root with the DNS name every manager certificate carries
 * (`tswarm-manager`), so any manager certificate of the cluster — a removed manager's one
 * included, still valid for its 90 days — would pass as "the manager at this address". The dialler
 * checks the subject too (managerIdentityCheck): O = its own cluster, OU = manager, and CN = one of
 * `nodeIds`.
 */
export interface ExpectedManager {
  /** The address dialled, named in the error. */
  addr: string;
  /**
   * The node IDs acceptable at that address: the one member known there (the Raft transport and
   * the forwarder dial a member by ID; workers learn (node ID, address) pairs from heartbeat
   * answers), else the managers the node knows. Empty only at the very first contact, when it
   * knows none: then any manager of its cluster.
   */
  nodeIds: readonly string[];
}

const MANAGER_OU = 'tswarm-manager';

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The O of a PEM certificate's subject: the cluster ID of a node certificate. Cached: one per renewal. */
let cachedClusterId: { certPem: string; clusterId: string } | undefined;
export function clusterIdOf(certPem: string): string {
  if (cachedClusterId?.certPem === certPem) return cachedClusterId.clusterId;
  const o = /(?:^|\n)O=([^\n]*)/.exec(new X509Certificate(certPem).subject)?.[1] ?? '';
  cachedClusterId = { certPem, clusterId: o };
  return o;
}

/** Why a server certificate is not the manager expected, or undefined when it is. */
export function managerIdentityMismatch(
  cert: Pick<PeerCertificate, 'subject'>,
  clusterId: string,
  expected: ExpectedManager,
): string | undefined {
  const nodeId = first(cert.subject?.['CN']) ?? '';
  const ou = first(cert.subject?.['OU']) ?? '';
  const o = first(cert.subject?.['O']) ?? '';
  const at = expected.addr ? `the manager at ${expected.addr}` : 'the manager dialled';
  if (o !== clusterId)
    return `${at} presented a certificate of cluster ${o || '(none)'}, not of this cluster (${clusterId})`;
  if (ou !== MANAGER_OU) return `${at} presented node ${nodeId}'s ${ou || 'role-less'} certificate, not a manager's`;
  if (expected.nodeIds.length > 0 && !expected.nodeIds.includes(nodeId))
    return `${at} presented node ${nodeId}'s certificate, expected one of ${expected.nodeIds.join(', ')}`;
  return undefined;
}

/**
 * grpc-js's checkServerIdentity for a node's dial: it replaces Node's own check (grpc-js calls it
 * with the name it verifies, `tswarm-manager`), so that check runs first, then the subject's.
 */
export function managerIdentityCheck(
  clusterId: () => string,
  expected: ExpectedManager,
): (hostname: string, cert: PeerCertificate) => Error | undefined {
  return (hostname, cert) => {
    const nameError = checkServerIdentity(hostname, cert);
    if (nameError) return nameError;
    const mismatch = managerIdentityMismatch(cert, clusterId(), expected);
    return mismatch === undefined
      ? undefined
      : new Error(
          `${mismatch}. It is not the manager this node expects there: check the address, and that it is still a manager`,
        );
  };
}
