import {
  credentials,
  experimental,
  type ChannelCredentials,
  type ChannelOptions,
  type ServerCredentials,
} from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { clusterIdOf, managerIdentityCheck, type ExpectedManager } from './manager-identity.js';
import type {
  CaCertificateUpdateListener,
  IdentityCertificateUpdateListener,
} from '@grpc/grpc-js/build/src/certificate-provider.js';

/** The DNS name every manager certificate carries; clients verify it, not the address dialled. */
export const MANAGER_TLS_NAME = 'tswarm-manager';

export interface TlsMaterial {
  caPem: string;
  keyPem: string;
  certPem: string;
}

/**
 * Serves a node's CA and identity to grpc-js through its certificate-provider interface, so a
 * renewed certificate takes effect on new connections without restarting anything. Listeners are
 * called asynchronously (setImmediate): grpc-js never sets a TLS context otherwise
 * (tried: called synchronously, every handshake failed).
 */
export class TlsMaterialProvider implements experimental.CertificateProvider {
  private caListeners = new Set<CaCertificateUpdateListener>();
  private identityListeners = new Set<IdentityCertificateUpdateListener>();

  constructor(private material: TlsMaterial) {}

  get current(): TlsMaterial {
    return this.material;
  }

  update(material: TlsMaterial): void {
    this.material = material;
    for (const l of this.caListeners) this.sendCa(l);
    for (const l of this.identityListeners) this.sendIdentity(l);
  }

  private sendCa(listener: CaCertificateUpdateListener): void {
    const ca = Buffer.from(this.material.caPem);
    setImmediate(() => listener({ caCertificate: ca }));
  }

  private sendIdentity(listener: IdentityCertificateUpdateListener): void {
    const update = { certificate: Buffer.from(this.material.certPem), privateKey: Buffer.from(this.material.keyPem) };
    setImmediate(() => listener(update));
  }

  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    this.sendCa(listener);
  }

  removeCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    this.sendIdentity(listener);
  }

  removeIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }
}

/**
 * Server side of mutual TLS that still lets a node without a certificate in (to join): a client
 * certificate is verified against the CA when sent, not demanded. Every handler must therefore
 * check the caller's identity itself (peerIdentity), and only the join endpoints may serve none.
 */
export function serverCredentials(provider: TlsMaterialProvider): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Channel options that make the client verify the manager DNS name whatever address it dials. */
export const MANAGER_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.ssl_target_name_override': MANAGER_TLS_NAME,
  'grpc.default_authority': MANAGER_TLS_NAME,
};

/**
 * Mutual TLS as a node: its own certificate, the cluster CA as the only root, and the server
 * checked to be a manager of this cluster — the one expected at that address when the caller
 * knows it (lib/manager-identity.ts); without `expected`, any manager of this cluster.
 */
export function clientCredentials(
  provider: TlsMaterialProvider,
  expected: ExpectedManager = { addr: '', nodeIds: [] },
): ChannelCredentials {
  const checkServerIdentity = managerIdentityCheck(() => clusterIdOf(provider.current.certPem), expected);
  return experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity });
}

/**
 * TLS that verifies nothing: only for fetching the root CA while joining, and only so the joining
 * node can then check the CA against its token's digest before trusting anything.
 */
export function unverifiedBootstrapCredentials(): ChannelCredentials {
  return credentials.createSsl(null, null, null, { rejectUnauthorized: false });
}

/** Bootstrap with a CA already checked against the token, but no client certificate yet. */
export function caOnlyCredentials(caPem: string): ChannelCredentials {
  return credentials.createSsl(Buffer.from(caPem));
}

export interface PeerIdentity {
  nodeId: string;
  ou: string;
  clusterId: string;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The caller's verified certificate subject, or undefined for a caller without one. A forged
 * self-signed certificate fails verification and arrives as undefined too (tried: a worker
 * certificate gives its CN and OU; none, or a forged one claiming OU=tswarm-manager, gives undefined).
 */
export function peerIdentity(call: {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}): PeerIdentity | undefined {
  return peerIdentityOf(call.getAuthContext()?.sslPeerCertificate);
}

/**
 * The same, from the certificate itself: a caller that needs more of it reads it once (grpc-js
 * builds the certificate object anew, from the TLS socket, at each getAuthContext).
 */
export function peerIdentityOf(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  const subject = cert?.subject;
  const nodeId = first(subject?.['CN']);
  const ou = first(subject?.['OU']);
  const clusterId = first(subject?.['O']);
  if (!nodeId || !ou || !clusterId) return undefined;
  return { nodeId, ou, clusterId };
}
