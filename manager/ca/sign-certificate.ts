import { systemClock, type Clock } from '../../lib/clock.js';
import { BACKDATE_MS } from '../../ca/limits.js';
import { parseAndVerifyCsr } from '../../ca/csr.js';
import {
  MANAGER_DNS_NAME,
  NODE_CERT_VALIDITY_MS_DEFAULT,
  ROLE_OU,
  type NodeIdentity,
} from '../../ca/node-certificate.js';
import { randomSerial, SIGNING_ALGORITHM, x509 } from '../../ca/x509.js';
import type { LoadedRootCA } from './root-ca.js';

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
