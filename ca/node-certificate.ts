import { systemClock, type Clock } from '../lib/clock.js';
import { TswarmError } from '../lib/errors.js';
import { BACKDATE_MS, type LoadedRootCA } from '../manager/ca/root-ca.js';
import { generateKeyPair, privateKeyToPem, randomSerial, SIGNING_ALGORITHM, x509 } from './x509.js';

/**
 * A node certificate says who the node is (ARCHITECTURE.md §4): CN = node ID, OU = role,
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
import { NODE_CERT_VALIDITY_MS_DEFAULT } from './limits.js';

export interface NodeKeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/** A fresh key and a CSR for it. The CSR's subject is not trusted: the CA decides the identity. */
export async function createKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=tswarm-node',
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}

/** Bounds a CSR before parsing it: it arrives from nodes that have not yet proven anything. */
const CSR_PEM_BYTES_MAX = 8 * 1024;

export async function parseAndVerifyCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (csrPem.length > CSR_PEM_BYTES_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the certificate request is larger than ${CSR_PEM_BYTES_MAX} bytes. Send a P-256 ECDSA CSR`,
    );
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the certificate request is not a valid PEM CSR (${(err as Error).message})`,
      { cause: err },
    );
  }
  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new TswarmError('INVALID_ARGUMENT', 'the certificate request must be for an ECDSA P-256 key');
  }
  if (!(await csr.verify()))
    throw new TswarmError('INVALID_ARGUMENT', 'the certificate request signature does not verify');
  return csr;
}

export interface IssueOptions {
  ca: LoadedRootCA;
  csrPem: string;
  identity: NodeIdentity;
  validityMs?: number;
  clock?: Clock;
}

export async function issueNodeCertificate(options: IssueOptions): Promise<string> {
  const { ca, identity } = options;
  const csr = await parseAndVerifyCsr(options.csrPem);
  const nowMs = (options.clock ?? systemClock).nowMs();
  const validityMs = options.validityMs ?? NODE_CERT_VALIDITY_MS_DEFAULT;
  const notAfterMs = Math.min(nowMs + validityMs, ca.cert.notAfter.getTime());
  const sans = identity.role === 'manager' ? [{ type: 'dns' as const, value: MANAGER_DNS_NAME }] : [];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${identity.nodeId}, OU=${ROLE_OU[identity.role]}, O=${identity.clusterId}`,
    issuer: ca.cert.subject,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(notAfterMs),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: csr.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return cert.toString('pem') + '\n';
}

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
