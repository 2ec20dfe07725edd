/**
 * A test probe run inside a lab host: one call to a manager's gRPC port, presenting a given
 * node's certificate (or none), printing {"code": …, "message": …} as JSON. It shows what the
 * network layer refuses, below any checks the local daemon makes first.
 *
 *   node raw-call.js CERT_DIR|none ADDR METHOD
 *   METHOD: listNodes (manager-only) | heartbeat (nodes) | getRootCa (anyone)
 *         | heartbeat-as HOSTNAME MEMORY_BYTES [LABEL_VALUE]: a beat with this description
 *         | join-flood N: N anonymous joins with a well-formed token of another CA; prints
 *           {"codes": {CODE: count}} instead
 */
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAServiceClient, NodeCAServiceClient } from '../../gen/tswarm/v1/ca.js';
import { createJoinToken } from '../../ca/join-token.js';
import { createKeyAndCsr } from '../../ca/csr.js';
import { randomBytes } from 'node:crypto';
import { ControlServiceClient } from '../../gen/tswarm/v1/control.js';
import { DispatcherServiceClient } from '../../gen/tswarm/v1/dispatcher.js';
import { MANAGER_CHANNEL_OPTIONS } from '../tls.js';

const [certDir, addr, method, ...rest] = process.argv.slice(2);
const DEADLINE_MS = 10_000;

function creds(): ChannelCredentials {
  if (!certDir || certDir === 'none') return credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  const read = (f: string) => readFileSync(join(certDir, f));
  return credentials.createSsl(read('ca.pem'), read('node.key'), read('node.pem'));
}

function done(err: ServiceError | null): void {
  const out = err ? { code: status[err.code], message: err.details } : { code: 'OK', message: '' };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const opts = { deadline: Date.now() + DEADLINE_MS };
if (method === 'listNodes') {
  const c = new ControlServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  c.listNodes({ names: [], idPrefixes: [], roles: [], labels: {} }, new Metadata(), opts, (e) => done(e));
} else if (method === 'heartbeat') {
  const c = new DispatcherServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  c.heartbeat({ sessionId: '', description: undefined, trustRootDigest: '' }, new Metadata(), opts, (e) => done(e));
} else if (method === 'heartbeat-as') {
  const [hostname, memoryBytes, label] = rest;
  const c = new DispatcherServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  const description = {
    hostname: hostname!,
    platform: { os: 'linux', architecture: 'x64' },
    resources: { nanoCpus: 2e9, memoryBytes: Number(memoryBytes), pids: 0 },
    engineVersion: '0.1.0',
    engineLabels: (label ? { probe: label } : {}) as Record<string, string>,
  };
  c.heartbeat({ sessionId: '', description, trustRootDigest: '' }, new Metadata(), opts, (e) => done(e));
} else if (method === 'join-flood') {
  const c = new NodeCAServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  const token = createJoinToken(randomBytes(32)).text;
  const { csrPem } = await createKeyAndCsr();
  const codes: Record<string, number> = {};
  for (let i = 0; i < Number(rest[0] ?? '1'); i++) {
    const code = await new Promise<string>((resolve) =>
      c.issueNodeCertificate(
        { csrPem: Buffer.from(csrPem), token, availability: 0, hostname: 'intruder' },
        new Metadata(),
        { deadline: Date.now() + DEADLINE_MS },
        (e) => resolve(e ? status[e.code] : 'OK'),
      ),
    );
    codes[code] = (codes[code] ?? 0) + 1;
  }
  process.stdout.write(JSON.stringify({ codes }) + '\n');
  process.exit(0);
} else if (method === 'getRootCa') {
  const c = new CAServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  c.getRootCaCertificate({}, new Metadata(), opts, (e) => done(e));
} else {
  process.stderr.write(`unknown method ${method}\n`);
  process.exit(2);
}
