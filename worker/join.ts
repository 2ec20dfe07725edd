import { Metadata } from '@grpc/grpc-js';
import { CAServiceClient, NodeCAServiceClient, type IssueNodeCertificateResponse } from '../gen/tswarm/v1/ca.js';
import type { NodeAvailability } from '../gen/tswarm/v1/objects.js';
import { createKeyAndCsr } from '../ca/csr.js';
import { caBundleDigest, type JoinToken } from '../ca/join-token.js';
import { TswarmError } from '../lib/errors.js';
import { callUnary } from '../lib/grpc.js';
import { caOnlyCredentials, MANAGER_CHANNEL_OPTIONS, unverifiedBootstrapCredentials } from '../lib/tls.js';
import { MANAGER_CALL_DEADLINE_MS } from './deadlines.js';

export interface JoinHandshakeRequest {
  /** HOST:PORT of the manager to join through. */
  managerAddr: string;
  token: JoinToken;
  availability: NodeAvailability;
  hostname: string;
}

export interface JoinHandshakeResult {
  /** The cluster's root CA, checked against the token's digest. */
  caPem: string;
  keyPem: string;
  issued: IssueNodeCertificateResponse;
}

/**
 * The CA-pinned join handshake (docs/security.md, Joining, step by step): fetch the manager's root CA without trusting
 * it, check it against the digest in the token, then — now over TLS that verifies the manager
 * against that CA — send a fresh CSR with the token and receive this node's certificate.
 */
export async function joinHandshake(req: JoinHandshakeRequest): Promise<JoinHandshakeResult> {
  const { managerAddr, token } = req;
  const caPem = await fetchRootCA(managerAddr, token.caDigest);
  const { keyPem, csrPem } = await createKeyAndCsr();
  const client = new NodeCAServiceClient(managerAddr, caOnlyCredentials(caPem), MANAGER_CHANNEL_OPTIONS);
  let issued;
  try {
    issued = await callUnary(
      client.issueNodeCertificate.bind(client),
      new Metadata(),
      {
        csrPem: Buffer.from(csrPem),
        token: token.text,
        availability: req.availability,
        hostname: req.hostname,
      },
      MANAGER_CALL_DEADLINE_MS,
    );
  } finally {
    client.close();
  }
  return { caPem, keyPem, issued };
}

/** Fetches the CA without trusting it, then checks it against the token: a mismatch is refused. */
export async function fetchRootCA(addr: string, expectedDigest: Buffer): Promise<string> {
  const client = new CAServiceClient(addr, unverifiedBootstrapCredentials(), MANAGER_CHANNEL_OPTIONS);
  try {
    const res = await callUnary(
      client.getRootCaCertificate.bind(client),
      new Metadata(),
      {},
      MANAGER_CALL_DEADLINE_MS,
    ).catch((err: unknown) => {
      throw new TswarmError(
        'UNAVAILABLE',
        `cannot reach a manager at ${addr} (${(err as Error).message}). Check the address and that port ${addr.split(':')[1]} is open`,
        { cause: err },
      );
    });
    const pem = res.certificatePem.toString();
    checkRootCA(addr, pem, expectedDigest);
    return pem;
  } finally {
    client.close();
  }
}

/** Refuses a root CA whose digest is not the one the token pins. */
export function checkRootCA(addr: string, pem: string, expectedDigest: Buffer): void {
  if (!caBundleDigest(pem).equals(expectedDigest)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `the manager at ${addr} has a CA that does not match this token: it belongs to another cluster, or a machine in the middle answered. Check the address and the token`,
    );
  }
}
