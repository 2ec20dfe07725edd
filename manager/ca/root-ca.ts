import { systemClock, type Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { BACKDATE_MS } from '../../ca/limits.js';
import {
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  randomSerial,
  SIGNING_ALGORITHM,
  x509,
  type CryptoKey,
} from '../../ca/x509.js';

/** The cluster's root of trust. The key lives only in the managers' store (docs/security.md, The root CA key). */
export interface RootCA {
  certPem: string;
  keyPem: string;
}

export const ROOT_CA_VALIDITY_MS = 20 * 365 * 24 * 3600 * 1000;
export const ROOT_CA_COMMON_NAME = 'tswarm-root-ca';

/**
 * A new self-signed root. `commonName` tells a rotated root from the one before it: the
 * cross-signed certificate of a rotation names both, and a certificate whose subject equals its
 * issuer reads as self-issued to chain builders (OpenSSL's among them).
 */
export async function createRootCA(
  clock: Clock = systemClock,
  commonName: string = ROOT_CA_COMMON_NAME,
): Promise<RootCA> {
  const keys = await generateKeyPair();
  const nowMs = clock.nowMs();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + ROOT_CA_VALIDITY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyToPem(keys.privateKey) };
}

export interface LoadedRootCA {
  cert: x509.X509Certificate;
  key: CryptoKey;
  pem: RootCA;
}

export async function loadRootCA(ca: RootCA): Promise<LoadedRootCA> {
  try {
    return { cert: new x509.X509Certificate(ca.certPem), key: await privateKeyFromPem(ca.keyPem), pem: ca };
  } catch (err) {
    throw new TswarmError(
      'INTERNAL',
      `the cluster's root CA cannot be loaded (${(err as Error).message}). The cluster object in the store is damaged`,
      { cause: err },
    );
  }
}
