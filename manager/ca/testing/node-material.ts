import { createKeyAndCsr } from '../../../ca/csr.js';
import type { NodeIdentity } from '../../../ca/node-certificate.js';
import type { TlsMaterial } from '../../../lib/tls.js';
import { loadRootCA, type RootCA } from '../root-ca.js';
import { issueNodeCertificate } from '../sign-certificate.js';

/** A fresh key and a certificate signed by `ca` for `identity`: what a node holds, for TLS tests. */
export async function nodeTlsMaterial(ca: RootCA, identity: NodeIdentity): Promise<TlsMaterial> {
  const { keyPem, csrPem } = await createKeyAndCsr();
  return {
    caPem: ca.certPem,
    keyPem,
    certPem: await issueNodeCertificate({ ca: await loadRootCA(ca), csrPem, identity }),
  };
}
