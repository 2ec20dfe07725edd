import { TswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { NodeAvailability, type Cluster, type RaftConfig } from '../../gen/tswarm/v1/objects.js';
import type { Caller, Role } from '../authz/authz.js';
import type { Store } from '../store/store.js';
import { newNodeObject, roleName, theCluster } from '../store/cluster-objects.js';
import { caBundleDigest, parseJoinToken, sameSecret } from '../../ca/join-token.js';
import { CSR_PEM_BYTES_MAX, parseAndVerifyCsr } from '../../ca/csr.js';
import { checkHostname, HOSTNAME_CHARS_MAX } from '../../lib/hostname.js';
import { NODE_CERT_VALIDITY_MS_DEFAULT } from '../../ca/node-certificate.js';
import { loadRootCA } from './root-ca.js';
import { issueNodeCertificate } from './sign-certificate.js';
import { signingAuthority, trustBundle } from './rotation.js';
import { revokedAfterRenewal } from '../authz/revocation.js';

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

/** A join token is 86 characters; room for surrounding spaces, no more. */
const TOKEN_CHARS_MAX = 128;

/**
 * Bounds every field before anything else is done with the request. grpc-js applies one receive
 * limit to a whole server (`grpc.max_receive_message_length`, read per call from the server's
 * options; its interceptors see messages only once decoded), and the manager's one server on 2377
 * serves members and anonymous callers alike, so anonymous calls cannot get a smaller limit there:
 * this check (with the per-source rate limit in authz/anonymous-gate.ts) is what bounds them.
 */
export function checkRequestSizes(request: IssueRequest): void {
  if (request.csrPem.length > CSR_PEM_BYTES_MAX)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `the certificate request is larger than ${CSR_PEM_BYTES_MAX} bytes. Send a P-256 ECDSA CSR`,
    );
  if (request.token.length > TOKEN_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', `the join token is longer than ${TOKEN_CHARS_MAX} characters`);
  if (request.hostname.length > HOSTNAME_CHARS_MAX)
    throw new TswarmError('INVALID_ARGUMENT', `the hostname is longer than ${HOSTNAME_CHARS_MAX} characters`);
}

const JOIN_AVAILABILITIES: ReadonlySet<NodeAvailability> = new Set([
  NodeAvailability.NODE_AVAILABILITY_UNSPECIFIED, // the default: active
  NodeAvailability.NODE_AVAILABILITY_ACTIVE,
  NodeAvailability.NODE_AVAILABILITY_PAUSE,
  NodeAvailability.NODE_AVAILABILITY_DRAIN,
]);

/** Only the enum's defined values: the wire carries any integer, and the store must not. */
function checkAvailability(availability: NodeAvailability): void {
  if (!JOIN_AVAILABILITIES.has(availability))
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `availability ${String(availability)} is not one of active, pause or drain. Join with --availability active|pause|drain`,
    );
}

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
    checkRequestSizes(request);
    if (caller.kind === 'node') {
      const { cluster, ca, chainPem, validityMs } = await this.signingContext(request);
      return this.renew(caller.nodeId, request, cluster, ca, chainPem, validityMs);
    }
    // Anonymous: the cheap checks first (the token, constant-time on its secret; the fields), so
    // a caller without a valid token never costs a CSR verification or a CA key load.
    if (!request.token)
      throw new TswarmError(
        'UNAUTHENTICATED',
        'joining needs a join token. Get one with `tswarm join-token worker|manager` on a manager',
      );
    const role = roleForToken(theCluster(this.store.replica), request.token);
    checkHostname('the joining node’s hostname', request.hostname);
    checkAvailability(request.availability);
    const { cluster, ca, chainPem, validityMs } = await this.signingContext(request);
    const nodeId = newId();
    const certificatePem = await this.sign(
      ca,
      request.csrPem,
      { nodeId, role, clusterId: cluster.id },
      validityMs,
      chainPem,
    );
    await this.store.update((tx) =>
      tx.create(
        'node',
        newNodeObject({
          id: nodeId,
          role,
          hostname: request.hostname,
          availability: request.availability,
          certificatePem,
        }),
      ),
    );
    const rootCaPem = trustBundle(cluster.rootCa!);
    return { nodeId, role, certificatePem, rootCaPem, clusterId: cluster.id, raft: cluster.spec?.raft };
  }

  /** A certificate for `identity`, followed by the chain a node needs to verify it (a rotation's cross-signed root). */
  private async sign(
    ca: Awaited<ReturnType<typeof loadRootCA>>,
    csrPem: string,
    identity: { nodeId: string; role: Role; clusterId: string },
    validityMs: number,
    chainPem: string,
  ): Promise<string> {
    return (await issueNodeCertificate({ ca, csrPem, identity, validityMs, clock: this.clock })) + chainPem;
  }

  /**
   * The expensive part, done only for a caller that has proven something: the CSR and the CA key.
   * During a root rotation the new root signs, and its cross-signed copy goes after the certificate.
   */
  private async signingContext(request: IssueRequest) {
    await parseAndVerifyCsr(request.csrPem);
    const cluster = theCluster(this.store.replica);
    const signer = signingAuthority(cluster.rootCa!);
    const ca = await loadRootCA(signer.ca);
    const validityMs = cluster.spec?.caConfig?.nodeCertExpiryMs || NODE_CERT_VALIDITY_MS_DEFAULT;
    return { cluster, ca, chainPem: signer.chainPem, validityMs };
  }

  private async renew(
    nodeId: string,
    request: IssueRequest,
    cluster: Cluster,
    ca: Awaited<ReturnType<typeof loadRootCA>>,
    chainPem: string,
    validityMs: number,
  ): Promise<Issued> {
    const node = this.store.get('node', nodeId);
    const role = node && roleName(node.spec?.desiredRole ?? node.role);
    if (!node || !role) throw new TswarmError('PERMISSION_DENIED', `node ${nodeId} is not a member of this cluster`);
    const certificatePem = await this.sign(
      ca,
      request.csrPem,
      { nodeId, role, clusterId: cluster.id },
      validityMs,
      chainPem,
    );
    await this.store.update((tx, s) => {
      const current = s.get('node', nodeId);
      if (!current) throw new TswarmError('NOT_FOUND', `node ${nodeId} was removed while renewing`);
      current.certificate = {
        ...current.certificate!,
        certificatePem: Buffer.from(certificatePem),
        role: current.spec!.desiredRole,
        // A role change revokes the certificate of the old role (authz/revocation.ts).
        revoked: revokedAfterRenewal(current.certificate, current.spec!.desiredRole, this.clock.nowMs()),
      };
      tx.update('node', current);
    });
    const rootCaPem = trustBundle(cluster.rootCa!);
    return { nodeId, role, certificatePem, rootCaPem, clusterId: cluster.id, raft: cluster.spec?.raft };
  }
}
