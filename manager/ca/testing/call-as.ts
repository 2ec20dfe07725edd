/**
 * A test probe run inside a lab host, playing an attacker who holds certificate files (for
 * example one it signed itself with a root key taken from a former manager's disk): it calls
 * ControlService.ListNodes on a manager over mutual TLS with them and prints what happened as JSON:
 *   {"ok": true, "nodes": N} or {"ok": false, "code": GRPC_CODE, "message": "…"}
 *
 *   node call-as.js CERT_DIR ADDR
 *
 * CERT_DIR holds node.pem, node.key and ca.pem (the roots to verify the manager with).
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlServiceClient } from '../../../gen/tswarm/v1/control.js';
import { callUnary } from '../../../lib/grpc.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../../lib/tls.js';

const [certDir, addr] = process.argv.slice(2);
if (!certDir || !addr) {
  process.stderr.write('usage: call-as.js CERT_DIR ADDR\n');
  process.exit(2);
}
const read = (f: string) => readFileSync(join(certDir, f));
const client = new ControlServiceClient(
  addr,
  credentials.createSsl(read('ca.pem'), read('node.key'), read('node.pem')),
  MANAGER_CHANNEL_OPTIONS,
);
try {
  const res = await callUnary(
    client.listNodes.bind(client),
    new Metadata(),
    { names: [], idPrefixes: [], roles: [], labels: {} },
    10_000,
  );
  process.stdout.write(JSON.stringify({ ok: true, nodes: res.nodes.length }) + '\n');
} catch (err) {
  const e = err as { code?: unknown; grpcCode?: unknown; message: string };
  process.stdout.write(JSON.stringify({ ok: false, code: e.grpcCode ?? e.code, message: e.message }) + '\n');
} finally {
  client.close();
}
process.exit(0);
