import { X509Certificate } from 'node:crypto';

/**
 * Certificate chains as nodes hold them: during a root rotation a node certificate carries the
 * cross-signed new root after it, and a trust bundle holds the old root and the new
 * (docs/security.md, Rotating the root CA).
 */
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a bundle, each ending in a newline. */
export function pemCertificates(bundle: string): string[] {
  return (bundle.match(PEM_CERT) ?? []).map((p) => p + '\n');
}

/** The first certificate of a chain. */
export function leafPem(chainPem: string): string {
  return pemCertificates(chainPem)[0] ?? chainPem;
}

/** True when `caCertPem`'s key signed the first certificate of `certPem` and its name is the issuer's. */
export function issuedBy(certPem: string, caCertPem: string): boolean {
  try {
    const leaf = new X509Certificate(leafPem(certPem));
    const ca = new X509Certificate(caCertPem);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  } catch {
    return false;
  }
}
