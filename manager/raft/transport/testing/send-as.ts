/**
 * A test probe run inside a lab host, playing an attacker who holds a node's files: it dials a
 * manager's Raft transport with the real transport client (Transport, Peer) and that node's
 * certificate and key, sends one message, and prints what happened as JSON:
 *   {"from": ID, "refused": true|false, "reason": "…"}
 * refused: the manager ended the stream with an error (reason: its status and details); not
 * refused: the stream was still open after the wait, as it is when a message is taken.
 *
 *   node send-as.js CERT_DIR ADDR TO_ID prop|app TERM INDEX LOG_TERM
 *
 * Both kinds carry one store transaction making the sender a manager again (the certificate's
 * node, with role and desired role manager): `prop` as a MsgProp, `app` as a MsgApp at TERM
 * appending it after (INDEX, LOG_TERM) and committing it.
 */
import { credentials } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { NodeAvailability } from '../../../../gen/tswarm/v1/objects.js';
import { StoreTransaction } from '../../../../gen/tswarm/v1/store.js';
import { newNodeObject } from '../../../store/cluster-objects.js';
import { Tx } from '../../../store/store.js';
import { newMessage, type Message } from '../../core/messages.js';
import { Transport } from '../transport.js';

const [certDir, addr, to, kind, termArg, indexArg, logTermArg] = process.argv.slice(2);
/** How long an open stream counts as "taken": a refusal comes back within milliseconds. */
const WAIT_MS = 5_000;

function usage(): never {
  process.stderr.write('usage: send-as.js CERT_DIR ADDR TO_ID prop|app TERM INDEX LOG_TERM\n');
  process.exit(2);
}

if (!certDir || !addr || !to || (kind !== 'prop' && kind !== 'app')) usage();
const read = (f: string) => readFileSync(join(certDir, f));
const certPem = read('node.pem');
const from = /CN=([^\n,]+)/.exec(new X509Certificate(certPem).subject)?.[1] ?? usage();

function forgedTransaction(): Uint8Array {
  const tx = new Tx();
  const node = newNodeObject({
    id: from,
    role: 'manager',
    hostname: 'attacker',
    availability: NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    certificatePem: certPem.toString(),
  });
  tx.create('node', node);
  return StoreTransaction.encode({ actions: tx.actions, timestampMs: Date.now(), requestId: '' }).finish();
}

function message(): Message {
  const data = forgedTransaction();
  if (kind === 'prop') return newMessage({ type: 'MsgProp', from, to: to!, entries: [entry(0, 0, data)] });
  const term = Number(termArg);
  const index = Number(indexArg);
  return newMessage({
    type: 'MsgApp',
    from,
    to: to!,
    term,
    index,
    logTerm: Number(logTermArg),
    entries: [entry(term, index + 1, data)],
    commit: index + 1,
  });
}

function entry(term: number, index: number, data: Uint8Array) {
  return { term, index, type: 'normal' as const, data };
}

let reason = '';
const done = (refused: boolean) => {
  process.stdout.write(JSON.stringify({ from, refused, reason }) + '\n');
  process.exit(0);
};
// The peer logs why its stream failed (at debug) before it reports the target unreachable.
const logger = pino(
  { level: 'debug' },
  { write: (line: string) => (reason ||= (JSON.parse(line) as { reason?: string }).reason ?? '') },
);
const transport = new Transport({
  id: from,
  credentials: credentials.createSsl(read('ca.pem'), read('node.key'), certPem),
  logger,
  handler: { receive: () => undefined, unreachable: () => done(true), snapshotStatus: () => undefined },
});
transport.setPeer(to, addr);
transport.send([message()]);
setTimeout(() => done(false), WAIT_MS);
