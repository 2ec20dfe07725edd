import type { Node, RootCA } from '../../gen/tswarm/v1/objects.js';
import { caBundleDigest } from '../../ca/join-token.js';
import { x509 } from '../../ca/x509.js';
import { issuedBy, issuerCertPem, trustBundle } from '../../manager/ca/rotation.js';

/**
 * Docker's `TLSInfo` (moby api/types/swarm): the trust root as PEM, and the issuer of the
 * certificates as its raw subject and public key (DER, which Go's JSON sends as base64). The
 * docker CLI's root rotation progress compares them (cli/command/swarm/progress/root_rotation.go).
 */
export interface DockerTlsInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

const NO_TLS_INFO: DockerTlsInfo = { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' };

function issuerOf(caCertPem: string): Pick<DockerTlsInfo, 'CertIssuerSubject' | 'CertIssuerPublicKey'> {
  try {
    const cert = new x509.X509Certificate(caCertPem);
    return {
      CertIssuerSubject: Buffer.from(cert.subjectName.toArrayBuffer()).toString('base64'),
      CertIssuerPublicKey: Buffer.from(cert.publicKey.rawData).toString('base64'),
    };
  } catch {
    return { CertIssuerSubject: '', CertIssuerPublicKey: '' };
  }
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array()).toString();

/**
 * The cluster's: the current root (the one join tokens pin, the old one until a rotation
 * finishes, as SwarmKit shows it) and the issuer certificates are signed by now (the new root
 * during a rotation).
 */
export function clusterTlsInfo(root: RootCA | undefined): DockerTlsInfo {
  if (!root) return NO_TLS_INFO;
  return { TrustRoot: text(root.caCertPem), ...issuerOf(issuerCertPem(root)) };
}

/**
 * A node's: the trust bundle it reported using (known only when it is one the cluster handed
 * out), and the root that issued the certificate the store records for it.
 */
export function nodeTlsInfo(node: Node, root: RootCA | undefined): DockerTlsInfo {
  if (!root) return NO_TLS_INFO;
  const current = text(root.caCertPem);
  const bundle = trustBundle(root);
  const digest = node.trustRootDigest;
  const trusted =
    digest === caBundleDigest(current).toString('hex')
      ? current
      : digest === caBundleDigest(bundle).toString('hex')
        ? bundle
        : '';
  const cert = text(node.certificate?.certificatePem);
  const next = root.rootRotation ? text(root.rootRotation.caCertPem) : '';
  const issuer = next && issuedBy(cert, next) ? next : issuedBy(cert, current) ? current : '';
  return { TrustRoot: trusted, ...(issuer ? issuerOf(issuer) : { CertIssuerSubject: '', CertIssuerPublicKey: '' }) };
}
