import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { NodeAvailability, type Cluster, type RaftConfig } from '../../gen/tswarm/v1/objects.js';
import type { Caller, Role } from '../authz/authz.js';
import type { Store } from '../store/store.js';
import { newNodeObject, roleName, theCluster } from '../store/cluster-objects.js';
import { caBundleDigest, parseJoinToken, sameSecret } from '../../ca/join-token.js';
import { parseAndVerifyCsr } from '../../ca/csr.js';
import { NODE_CERT_VALIDITY_MS_DEFAULT } from '../../ca/node-certificate.js';
import { loadRootCA } from './root-ca.js';
import { issueNodeCertificate } from './sign-certificate.js';

export interface IssueRequest {
  csrPem: string;
  token: string;
  hostname: string;
  availability: NodeAvailability;
}

export interface Issued {
  nodeId: string;
  role: Role;
  certificatePem: string;
  rootCaPem: string;
  clusterId: string;
  raft: RaftConfig | undefined;
}

const HOSTNAME_BYTES_MAX = 253;

/** Which role a presented token grants, or a clear refusal. Constant-time on the secret. */
export function roleForToken(cluster: Cluster, tokenText: string): Role {
  const token = parseJoinToken(tokenText);
  const root = cluster.rootCa!;
  if (!token.caDigest.equals(caBundleDigest(root.caCertPem.toString()))) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      'the join token was made for another cluster’s CA. Get a token from a manager of this cluster',
    );
  }
  const worker = root.joinTokens?.worker ? parseJoinToken(root.joinTokens.worker) : undefined;
  const manager = root.joinTokens?.manager ? parseJoinToken(root.joinTokens.manager) : undefined;
  const isWorker = worker !== undefined && sameSecret(token, worker);
  const isManager = manager !== undefined && sameSecret(token, manager);
  if (isManager) return 'manager';
  if (isWorker) return 'worker';
  throw new TswarmError(
    'PERMISSION_DENIED',
    'the join token is not valid for this cluster (it may have been rotated). Get the current one with `tswarm join-token worker|manager` on a manager',
  );
}

/**
 * Issues node certificates: to a joining node that presents a valid token (a new node ID, its
 * role chosen by which token matched, the node recorded in the store before the certificate is
 * returned), or renews the certificate of a member over mutual TLS (same ID, the role the store
 * holds). The CA key comes from the store, so any manager can do this.
 */
export class CertificateIssuer {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  async issue(request: IssueRequest, caller: Caller): Promise<Issued> {
    await parseAndVerifyCsr(request.csrPem);
    const cluster = theCluster(this.store.replica);
    const ca = await loadRootCA({
      certPem: cluster.rootCa!.caCertPem.toString(),
      keyPem: cluster.rootCa!.caKeyPem.toString(),
    });
    const validityMs = cluster.spec?.caConfig?.nodeCertExpiryMs || NODE_CERT_VALIDITY_MS_DEFAULT;
    if (caller.kind === 'node') return this.renew(caller.nodeId, request, cluster, ca, validityMs);
    if (!request.token)
      throw new TswarmError(
        'UNAUTHENTICATED',
        'joining needs a join token. Get one with `tswarm join-token worker|manager` on a manager',
      );
    const role = roleForToken(cluster, request.token);
    const hostname = request.hostname.slice(0, HOSTNAME_BYTES_MAX);
    const nodeId = newId();
    const certificatePem = await issueNodeCertificate({
      ca,
      csrPem: request.csrPem,
      identity: { nodeId, role, clusterId: cluster.id },
      validityMs,
      clock: this.clock,
    });
    await this.store.update((tx) =>
      tx.create(
        'node',
        newNodeObject({ id: nodeId, role, hostname, availability: request.availability, certificatePem }),
      ),
    );
    return { nodeId, role, certificatePem, rootCaPem: ca.pem.certPem, clusterId: cluster.id, raft: cluster.spec?.raft };
  }

  private async renew(
    nodeId: string,
    request: IssueRequest,
    cluster: Cluster,
    ca: Awaited<ReturnType<typeof loadRootCA>>,
    validityMs: number,
  ): Promise<Issued> {
    const node = this.store.get('node', nodeId);
    const role = node && roleName(node.spec?.desiredRole ?? node.role);
    if (!node || !role) throw new TswarmError('PERMISSION_DENIED', `node ${nodeId} is not a member of this cluster`);
    const certificatePem = await issueNodeCertificate({
      ca,
      csrPem: request.csrPem,
      identity: { nodeId, role, clusterId: cluster.id },
      validityMs,
      clock: this.clock,
    });
    await this.store.update((tx, s) => {
      const current = s.get('node', nodeId);
      if (!current) throw new TswarmError('NOT_FOUND', `node ${nodeId} was removed while renewing`);
      current.certificate = {
        ...current.certificate!,
        certificatePem: Buffer.from(certificatePem),
        role: current.spec!.desiredRole,
      };
      tx.update('node', current);
    });
    return { nodeId, role, certificatePem, rootCaPem: ca.pem.certPem, clusterId: cluster.id, raft: cluster.spec?.raft };
  }
}
