/**
 * A member of a static KV cluster over tswarm's Raft, for the benchmark against etcd:
 *   node dist/bench/raft/kvserver/main.js --id n1 --data-dir DIR --listen 127.0.0.1:P \
 *     --peers n1=127.0.0.1:P1,n2=127.0.0.1:P2,n3=127.0.0.1:P3 [--client-listen 127.0.0.1:Q]
 * All members start with the same initial configuration (the --peers list); a lone member
 * elects itself at once. SIGTERM/SIGINT stop it cleanly.
 */
import { parseArgs } from 'node:util';
import { EXIT_ERROR, EXIT_USAGE } from '../../../lib/errors.js';
import { createLogger, parseLogLevel } from '../../../lib/log.js';
import type { NodeId } from '../../../manager/raft/core/types.js';
import { startKvMember } from './member.js';

const USAGE =
  'Usage: main.js --id ID --data-dir DIR --listen HOST:PORT --peers ID=HOST:PORT,... [--client-listen HOST:PORT] [--tick-ms N] [--snapshot-every N] [--log-level LEVEL]';

function usage(message: string): never {
  process.stderr.write(`Error: ${message}.\n${USAGE}\n`);
  process.exit(EXIT_USAGE);
}

function parsePeers(spec: string): Map<NodeId, string> {
  const peers = new Map<NodeId, string>();
  for (const part of spec.split(',')) {
    const [id, addr] = part.split('=');
    if (!id || !addr || !/^[^:]+:\d+$/.test(addr)) usage(`invalid peer "${part}", expected ID=HOST:PORT`);
    peers.set(id, addr);
  }
  return peers;
}

function positive(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) usage(`${what} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        id: { type: 'string' },
        'data-dir': { type: 'string' },
        listen: { type: 'string' },
        peers: { type: 'string' },
        'client-listen': { type: 'string' },
        'tick-ms': { type: 'string' },
        'snapshot-every': { type: 'string' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  const { id, listen } = values;
  const dataDir = values['data-dir'];
  if (!id || !dataDir || !listen || !values.peers) usage('--id, --data-dir, --listen and --peers are required');
  const peers = parsePeers(values.peers);
  if (!peers.has(id)) usage(`--peers must include this member (${id})`);
  const logger = createLogger({ name: `kvserver-${id}`, level: parseLogLevel(values['log-level'] ?? 'warn') });
  const tickMs = positive(values['tick-ms'], '--tick-ms');
  const snapshotEveryEntries = positive(values['snapshot-every'], '--snapshot-every');
  const member = await startKvMember({
    id,
    dataDir,
    listen,
    peers,
    logger,
    ...(values['client-listen'] ? { clientListen: values['client-listen'] } : {}),
    // This process does nothing but Raft: its followers may fsync on the event loop.
    node: {
      blockingFollowerSync: true,
      ...(tickMs ? { tickMs } : {}),
      ...(snapshotEveryEntries ? { snapshotEveryEntries } : {}),
    },
  });
  logger.info({ id, listen, peers: Object.fromEntries(peers) }, 'kvserver: member started');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    member.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'kvserver: stop failed');
        process.exit(EXIT_ERROR);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}.\n`);
  process.exit(EXIT_ERROR);
});
