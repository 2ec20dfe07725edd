import { TswarmError } from '../lib/errors.js';
import { x509 } from './x509.js';

/**
 * A node certificate says who the node is (docs/security.md, Identities): CN = node ID, OU = role,
 * O = cluster ID. Managers also carry the DNS name `tswarm-manager`, which clients verify instead
 * of IP addresses, so any manager is reachable at any address.
 */
export type NodeRoleName = 'manager' | 'worker';

export interface NodeIdentity {
  nodeId: string;
  role: NodeRoleName;
  clusterId: string;
}

export const MANAGER_DNS_NAME = 'tswarm-manager';
export const ROLE_OU: Record<NodeRoleName, string> = { manager: 'tswarm-manager', worker: 'tswarm-worker' };
export { NODE_CERT_VALIDITY_MS_DEFAULT, NODE_CERT_VALIDITY_MS_MIN } from './limits.js';

export interface ParsedNodeCertificate {
  identity: NodeIdentity;
  notBeforeMs: number;
  notAfterMs: number;
  serial: string;
}

function field(subject: x509.Name, oid: string): string | undefined {
  return subject.getField(oid)[0];
}

export function parseNodeCertificate(pem: string): ParsedNodeCertificate {
  const cert = new x509.X509Certificate(pem);
  const name = new x509.Name(cert.subject);
  const nodeId = field(name, 'CN');
  const ou = field(name, 'OU');
  const clusterId = field(name, 'O');
  const role = (Object.keys(ROLE_OU) as NodeRoleName[]).find((r) => ROLE_OU[r] === ou);
  if (!nodeId || !clusterId || !role)
    throw new TswarmError('INVALID_ARGUMENT', `certificate subject "${cert.subject}" is not a tswarm node identity`);
  return {
    identity: { nodeId, role, clusterId },
    notBeforeMs: cert.notBefore.getTime(),
    notAfterMs: cert.notAfter.getTime(),
    serial: cert.serialNumber,
  };
}

/** True when `pem` was signed by the CA and is within its validity at `nowMs`. */
export async function verifyNodeCertificate(pem: string, caCertPem: string, nowMs: number): Promise<boolean> {
  const cert = new x509.X509Certificate(pem);
  const ca = new x509.X509Certificate(caCertPem);
  return cert.verify({ publicKey: ca.publicKey, date: new Date(nowMs) });
}
