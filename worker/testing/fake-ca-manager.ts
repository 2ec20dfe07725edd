import { Server } from '@grpc/grpc-js';
import {
  CAServiceService,
  NodeCAServiceService,
  type IssueNodeCertificateRequest,
  type IssueNodeCertificateResponse,
} from '../../gen/tswarm/v1/ca.js';
import { NodeRole } from '../../gen/tswarm/v1/objects.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { unaryHandler } from '../../lib/grpc.js';
import { peerIdentity, serverCredentials, TlsMaterialProvider, type PeerIdentity } from '../../lib/tls.js';
import { createRootCA, loadRootCA, type RootCA } from '../../manager/ca/root-ca.js';
import { issueNodeCertificate } from '../../manager/ca/sign-certificate.js';

export const FAKE_CLUSTER_ID = 'cluster1';
export const JOINED_NODE_ID = 'joined1';

export interface FakeCaManager {
  addr: string;
  ca: RootCA;
  /** Every IssueNodeCertificate request, with who made it (undefined: no client certificate). */
  requests: { request: IssueNodeCertificateRequest; caller: PeerIdentity | undefined }[];
  close(): void;
}

/**
 * The CA endpoints of a manager, on 127.0.0.1 over real TLS with a real root CA: it serves the
 * root CA (or `servedCaPem`, as a machine in the middle would) and signs every CSR — a joining
 * node's as worker `joined1`, a renewing node's under its own identity.
 */
export async function startFakeCaManager(options: { servedCaPem?: string } = {}): Promise<FakeCaManager> {
  const ca = await createRootCA();
  const loaded = await loadRootCA(ca);
  const { keyPem, csrPem } = await createKeyAndCsr();
  const certPem = await issueNodeCertificate({
    ca: loaded,
    csrPem,
    identity: { nodeId: 'manager1', role: 'manager', clusterId: FAKE_CLUSTER_ID },
  });
  const requests: FakeCaManager['requests'] = [];
  const server = new Server();
  server.addService(CAServiceService, {
    getRootCaCertificate: unaryHandler(async () => ({
      certificatePem: Buffer.from(options.servedCaPem ?? ca.certPem),
    })),
  });
  server.addService(NodeCAServiceService, {
    issueNodeCertificate: unaryHandler<IssueNodeCertificateRequest, IssueNodeCertificateResponse>(
      async (request, call) => {
        const caller = peerIdentity(call);
        requests.push({ request, caller });
        const nodeId = caller?.nodeId ?? JOINED_NODE_ID;
        const pem = await issueNodeCertificate({
          ca: loaded,
          csrPem: request.csrPem.toString(),
          identity: { nodeId, role: 'worker', clusterId: FAKE_CLUSTER_ID },
        });
        return {
          nodeId,
          role: NodeRole.NODE_ROLE_WORKER,
          certificatePem: Buffer.from(pem),
          rootCaPem: Buffer.from(ca.certPem),
          clusterId: FAKE_CLUSTER_ID,
          raft: undefined,
        };
      },
    ),
    nodeCertificateStatus: unaryHandler(async () => {
      throw new Error('not served by this fake');
    }),
  });
  const tls = new TlsMaterialProvider({ caPem: ca.certPem, keyPem, certPem });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(tls), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { addr: `127.0.0.1:${port}`, ca, requests, close: () => server.forceShutdown() };
}
