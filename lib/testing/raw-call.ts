/**
 * A test probe run inside a lab host: one call to a manager's gRPC port, presenting a given
 * node's certificate (or none), printing {"code": …, "message": …} as JSON. It shows what the
 * network layer refuses, below any checks the local daemon makes first.
 *
 *   node raw-call.js CERT_DIR|none ADDR METHOD
 *   METHOD: listNodes (manager-only) | heartbeat (nodes) | getRootCa (anyone)
 */
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAServiceClient } from '../../gen/tswarm/v1/ca.js';
import { ControlServiceClient } from '../../gen/tswarm/v1/control.js';
import { DispatcherServiceClient } from '../../gen/tswarm/v1/dispatcher.js';
import { MANAGER_CHANNEL_OPTIONS } from '../tls.js';

const [certDir, addr, method] = process.argv.slice(2);
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
} else if (method === 'getRootCa') {
  const c = new CAServiceClient(addr!, creds(), MANAGER_CHANNEL_OPTIONS);
  c.getRootCaCertificate({}, new Metadata(), opts, (e) => done(e));
} else {
  process.stderr.write(`unknown method ${method}\n`);
  process.exit(2);
}
