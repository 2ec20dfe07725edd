import { TswarmError } from '../lib/errors.js';
import { generateKeyPair, privateKeyToPem, SIGNING_ALGORITHM, x509 } from './x509.js';

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
export const CSR_PEM_BYTES_MAX = 8 * 1024;

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
