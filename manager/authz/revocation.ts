import type { DeepReadonly } from '../../lib/deep-readonly.js';
import type { PeerCertificate } from 'node:tls';
import { parseNodeCertificate } from '../../ca/node-certificate.js';
import { TswarmError } from '../../lib/errors.js';
import type { Node, NodeCertificate, NodeRole, RevokedCertificate } from '../../gen/tswarm/v1/objects.js';
import { roleName } from '../store/cluster-objects.js';

/**
 * Certificate revocation by serial, kept in the store beside the node it belongs to.
 *
 * Revocation by node ID needs nothing more: authz refuses a certificate whose node the store no
 * longer holds (NODE_REMOVED). What that misses is a node that is still a member but changed role:
 * the certificate it held before (a demoted manager's manager certificate, or a promoted worker's
 * worker certificate) stays valid for the rest of its life (90 days by default). So when the issuer
 * gives a node a certificate for a *different* role, it records the previous certificate's serial
 * here, and every service refuses that serial from then on (CERTIFICATE_REVOKED), the Raft
 * transport included. A routine renewal (same role) revokes nothing: as in Docker, the old
 * certificate stays valid until it expires — it names the same node and role as the new one.
 *
 * The list is bounded (REVOKED_PER_NODE_MAX per node) and pruned of expired entries whenever one is
 * added: an expired certificate fails TLS anyway.
 */

/** Revoked certificates remembered per node; a node changes role rarely, so older ones have long expired. */
export const REVOKED_PER_NODE_MAX = 16;

/**
 * Serials compare as upper-case hex without leading zeros or separators: the issuer's library
 * writes lower case (and may keep a leading zero byte), Node's TLS peer certificate upper case.
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  return hex.replace(/^0+/, '') || '0';
}

/** The serial of the certificate a TLS peer presented, normalized; undefined without one. */
export function peerSerial(cert: PeerCertificate | undefined): string | undefined {
  return cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined;
}

/**
 * The revocation list after the issuer replaced `previousPem` (issued for `previousRole`) with a
 * certificate for `newRole`: the previous one added when the role changed, expired ones dropped,
 * at most REVOKED_PER_NODE_MAX kept (the newest). The same role revokes nothing.
 */
export function revokedAfterRenewal(
  current: NodeCertificate | undefined,
  newRole: NodeRole,
  nowMs: number,
): RevokedCertificate[] {
  const kept = (current?.revoked ?? []).filter((r) => r.notAfterMs > nowMs);
  const previousPem = current?.certificatePem.toString() ?? '';
  if (!current || previousPem === '' || roleName(current.role) === roleName(newRole)) return kept;
  const previous = parseNodeCertificate(previousPem);
  if (previous.notAfterMs <= nowMs) return kept;
  const serial = normalizeSerial(previous.serial);
  if (kept.some((r) => r.serial === serial)) return kept;
  return [...kept, { serial, notAfterMs: previous.notAfterMs, role: current.role }].slice(-REVOKED_PER_NODE_MAX);
}

/** Whether the store revoked this serial (already normalized, see peerSerial) of this node. */
export function isRevoked(node: DeepReadonly<Node> | undefined, serial: string | undefined): boolean {
  if (!node || serial === undefined) return false;
  const revoked = node.certificate?.revoked;
  return revoked !== undefined && revoked.some((r) => r.serial === serial);
}

/**
 * Methods a revoked certificate may still call. Only the renewal: the issuer gives the role the
 * store holds (never the revoked certificate's), so it grants nothing the node does not have, and
 * it keeps a role change robust: the issuer revokes the old certificate when it issues the new
 * one, so if the answer carrying the new one is lost (a timeout, a crash before it is saved), the
 * node still holds only the revoked one, and must be able to ask again.
 */
export const REVOKED_MAY_CALL: ReadonlySet<string> = new Set(['tswarm.v1.NodeCAService.issueNodeCertificate']);

export function certificateRevoked(nodeId: string, serial: string): TswarmError {
  return new TswarmError(
    'CERTIFICATE_REVOKED',
    `the certificate (serial ${serial}) of node ${nodeId} was revoked: the node's role changed and it was given a new certificate. Use the node's current certificate; a node renews by itself, and if it cannot, run \`tswarm leave --force\` on it and join again`,
  );
}
