import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { issuedBy, pemCertificates } from '../../ca/chain.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { TswarmError } from '../../lib/errors.js';
import { cryptoRandom, type Random } from '../../lib/random.js';
import { caBundleDigest, createJoinToken } from '../../ca/join-token.js';
import { randomSerial, SIGNING_ALGORITHM, x509 } from '../../ca/x509.js';
import type { Node, RootCA as RootCAObject } from '../../gen/tswarm/v1/objects.js';
import { createRootCA, loadRootCA, ROOT_CA_COMMON_NAME, type RootCA } from './root-ca.js';

export { issuedBy, leafPem, pemCertificates } from '../../ca/chain.js';

/**
 * Root CA rotation (docs/security.md, Rotating the root CA), as SwarmKit does it
 * (manager/controlapi/ca_rotation.go, ca/reconciler.go): a new root, cross-signed by the old key;
 * while the rotation runs, nodes trust both roots and every certificate is signed by the new key
 * and handed out with the cross-signed copy; once every node in the store holds a certificate of
 * the new root, the cluster keeps only the new root and key, with new join tokens. Pure planning
 * here; the control API starts a rotation, the leader's reconciler finishes it.
 */

/** SwarmKit's floor for an operator-supplied root: it must stay valid at least this long. */
export const SIGNING_ROOT_VALIDITY_MS_MIN = 365 * 24 * 3600 * 1000;

/** The roots a node must trust: old and new while a rotation runs, else the current root. */
export function trustBundle(root: RootCAObject): string {
  const current = Buffer.from(root.caCertPem).toString();
  const next = root.rootRotation ? Buffer.from(root.rootRotation.caCertPem).toString() : '';
  return [...pemCertificates(current), ...pemCertificates(next)].join('');
}

/** What signs node certificates now: the new root during a rotation (its chain: the cross-signed copy), else the root. */
export interface SigningAuthority {
  ca: RootCA;
  /** Sent after each certificate, so a node still trusting only the old root can verify it. */
  chainPem: string;
}

export function signingAuthority(root: RootCAObject): SigningAuthority {
  const r = root.rootRotation;
  if (r && r.caKeyPem.length > 0)
    return {
      ca: { certPem: Buffer.from(r.caCertPem).toString(), keyPem: Buffer.from(r.caKeyPem).toString() },
      chainPem: Buffer.from(r.crossSignedCaCertPem).toString(),
    };
  return {
    ca: { certPem: Buffer.from(root.caCertPem).toString(), keyPem: Buffer.from(root.caKeyPem).toString() },
    chainPem: '',
  };
}

/** The root whose key signs certificates now (the new one during a rotation). */
export function issuerCertPem(root: RootCAObject): string {
  return signingAuthority(root).ca.certPem;
}

/**
 * The new root's subject and key, signed by the old root's key: a CA certificate a node that
 * trusts only the old root can chain a new-root certificate through.
 */
export async function crossSign(oldRoot: RootCA, newRootCertPem: string): Promise<string> {
  const signer = await loadRootCA(oldRoot);
  const next = new x509.X509Certificate(newRootCertPem);
  const notAfterMs = Math.min(next.notAfter.getTime(), signer.cert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: next.subject,
    issuer: signer.cert.subject,
    notBefore: next.notBefore,
    notAfter: new Date(notAfterMs),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: next.publicKey,
    signingKey: signer.key,
    extensions: [
      // pathLen 0: it signs node certificates only.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(next.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(signer.cert),
    ],
  });
  return cert.toString('pem') + '\n';
}

function invalidRoot(what: string): never {
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `the given root CA (Spec.CAConfig.SigningCACert/SigningCAKey, or --ca-cert/--ca-key) ${what}`,
  );
}

/**
 * Checks an operator-supplied root: one PEM certificate, self-signed, a CA, valid now and for at
 * least a year (SwarmKit's floor), with an ECDSA P-256 key (what tswarm signs with) that matches
 * it. Returns the key as PKCS#8 PEM (an `openssl ecparam` SEC1 key is accepted too).
 */
export function validateSigningRoot(certPem: string, keyPem: string, nowMs: number): RootCA {
  if (!keyPem.trim())
    invalidRoot('has a certificate but no key. Give both: tswarm signs with the root’s key (--ca-cert and --ca-key)');
  const certs = pemCertificates(certPem);
  if (certs.length !== 1)
    invalidRoot(`must be exactly one PEM certificate, found ${certs.length}. Give the root certificate alone`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certs[0]!);
  } catch (err) {
    invalidRoot(`cannot be parsed (${(err as Error).message}). Give a PEM certificate`);
  }
  if (!cert.ca) invalidRoot('is not a CA certificate (its basic constraints lack CA:TRUE). Give a root CA certificate');
  if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey))
    invalidRoot('is not self-signed, so it is not a root. Give a root CA certificate');
  const fromMs = Date.parse(cert.validFrom);
  const toMs = Date.parse(cert.validTo);
  if (fromMs > nowMs) invalidRoot(`is not valid yet (from ${cert.validFrom}). Check its dates and this clock`);
  if (toMs <= nowMs) invalidRoot(`expired on ${cert.validTo}. Give a certificate that is still valid`);
  if (toMs < nowMs + SIGNING_ROOT_VALIDITY_MS_MIN)
    invalidRoot(`expires too soon (${cert.validTo}): it must stay valid for at least a year`);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    invalidRoot(`key cannot be parsed (${(err as Error).message}). Give a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    invalidRoot(
      'key is not an ECDSA P-256 key, the only kind tswarm signs with. Make one with `openssl ecparam -name prime256v1 -genkey`',
    );
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCert = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert))
    invalidRoot('key does not match its certificate. Give the key the certificate was made for');
  return { certPem: certs[0]!, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function samePublicKey(aPem: string, bPem: string): boolean {
  const der = (p: string) => new X509Certificate(p).publicKey.export({ type: 'spki', format: 'der' });
  return der(aPem).equals(der(bPem));
}

export interface CARotationRequest {
  forceRotate: number;
  signingCaCertPem: string;
  signingCaKeyPem: string;
}

/**
 * The cluster's RootCA after an update of its CA config, or undefined when nothing changes
 * (SwarmKit's validateCAConfig): a given root starts a rotation to it (unless it is the one
 * already rotating to); without one, a changed force-rotate starts a rotation to a new root.
 * A rotation already running is replaced, cross-signed again by the current root's key.
 */
export async function planRotation(
  root: RootCAObject,
  req: CARotationRequest,
  clock: Clock = systemClock,
): Promise<RootCAObject | undefined> {
  const current: RootCA = {
    certPem: Buffer.from(root.caCertPem).toString(),
    keyPem: Buffer.from(root.caKeyPem).toString(),
  };
  let next: RootCA;
  if (req.signingCaCertPem.trim() || req.signingCaKeyPem.trim()) {
    if (!req.signingCaCertPem.trim()) invalidRoot('has a key but no certificate. Give both (--ca-cert and --ca-key)');
    next = validateSigningRoot(req.signingCaCertPem, req.signingCaKeyPem, clock.nowMs());
    if (samePublicKey(next.certPem, current.certPem))
      invalidRoot('has the same key as the current root. A rotation needs a new key');
    const rotating = root.rootRotation && Buffer.from(root.rootRotation.caCertPem).toString();
    if (rotating && pemCertificates(rotating)[0] === next.certPem)
      return { ...root, lastForcedRotation: req.forceRotate };
  } else {
    if (req.forceRotate === root.lastForcedRotation) return undefined;
    next = await createRootCA(clock, `${ROOT_CA_COMMON_NAME}-${new Date(clock.nowMs()).toISOString()}`);
  }
  return {
    ...root,
    rootRotation: {
      caCertPem: Buffer.from(next.certPem),
      caKeyPem: Buffer.from(next.keyPem),
      crossSignedCaCertPem: Buffer.from(await crossSign(current, next.certPem)),
    },
    lastForcedRotation: req.forceRotate,
  };
}

export interface LaggingNode {
  nodeId: string;
  hostname: string;
  /** Why it holds no certificate of the new root yet, in words for the operator. */
  reason: string;
}

export interface RotationProgress {
  converged: string[];
  lagging: LaggingNode[];
}

/**
 * Which nodes of the store hold a certificate of the new root, as the store records each node's
 * certificate (the issuer writes it before handing it out). Every node counts, down ones too, as
 * SwarmKit's reconciler counts them: a node that is down would otherwise come back unable to
 * verify anyone, or be verified by no one. `isDown` names the ones to call down.
 */
export function rotationProgress(
  root: RootCAObject,
  nodes: readonly Node[],
  isDown: (n: Node) => boolean,
): RotationProgress {
  const issuer = issuerCertPem(root);
  const out: RotationProgress = { converged: [], lagging: [] };
  for (const n of nodes) {
    const cert = Buffer.from(n.certificate?.certificatePem ?? new Uint8Array()).toString();
    if (issuedBy(cert, issuer)) out.converged.push(n.id);
    else
      out.lagging.push({
        nodeId: n.id,
        hostname: n.description?.hostname ?? '',
        reason: isDown(n)
          ? 'down: it renews when it is back, or remove it with `tswarm node rm --force`'
          : 'still holds a certificate of the old root (renewing)',
      });
  }
  return out;
}

/**
 * The RootCA once every node holds a certificate of the new root: the new root and key alone (the
 * old key is gone from the current state), and new join tokens, pinning the new root (SwarmKit's
 * finishRootRotation). Undefined if no rotation runs.
 */
export function finishRotation(root: RootCAObject, random: Random = cryptoRandom): RootCAObject | undefined {
  const r = root.rootRotation;
  if (!r) return undefined;
  const certPem = Buffer.from(r.caCertPem).toString();
  const digest = caBundleDigest(certPem);
  return {
    caKeyPem: Buffer.from(r.caKeyPem),
    caCertPem: Buffer.from(certPem),
    caCertDigest: digest.toString('hex'),
    joinTokens: { worker: createJoinToken(digest, random).text, manager: createJoinToken(digest, random).text },
    rootRotation: undefined,
    lastForcedRotation: root.lastForcedRotation,
  };
}
