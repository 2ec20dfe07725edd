import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { readFileIfExists, writeFileAtomic } from '../lib/fsutil.js';

/**
 * node.json: what a restarted daemon must know about itself — its identity in the swarm (empty
 * until init or join), its role, the managers it joined through, and its name prefix (kept once
 * chosen, so containers stay adoptable even if the data dir is later reached by another path).
 */
export interface NodeConfig {
  formatVersion: 1;
  namePrefix: string;
  nodeId: string;
  clusterId: string;
  role: 'none' | 'worker' | 'manager';
  joinAddrs: string[];
  /** Where other nodes reach this manager (HOST:PORT), and where it listens. */
  advertiseAddr: string;
  listenAddr: string;
  /**
   * The cluster's Raft timings (from init's spec, or the join answer): a manager needs them before
   * Raft starts, and the spec itself lives in the replicated store. Absent in older files: defaults.
   */
  raft?: RaftTimings;
  /**
   * The cluster removed this node (`node rm`): it beats no more, and its keys and Raft data are
   * deleted as `leave` deletes them; it waits for the operator's `leave` and a new `join`.
   */
  removed?: boolean;
}

export interface RaftTimings {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
}

export const NODE_CONFIG_FILE = 'node.json';

function validate(value: unknown, path: string): NodeConfig {
  const v = value as Partial<NodeConfig> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    v.formatVersion === 1 &&
    typeof v.namePrefix === 'string' &&
    typeof v.nodeId === 'string' &&
    typeof v.clusterId === 'string' &&
    (v.role === 'none' || v.role === 'worker' || v.role === 'manager') &&
    Array.isArray(v.joinAddrs) &&
    v.joinAddrs.every((a) => typeof a === 'string') &&
    typeof (v.advertiseAddr ?? '') === 'string' &&
    typeof (v.listenAddr ?? '') === 'string' &&
    typeof (v.removed ?? false) === 'boolean';
  if (!ok) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${path} is not a valid tswarm node file. Restore it from a backup, or move the data dir aside to start afresh`,
    );
  }
  const config = v as NodeConfig;
  return { ...config, advertiseAddr: config.advertiseAddr ?? '', listenAddr: config.listenAddr ?? '' };
}

export async function loadNodeConfig(dataDir: string): Promise<NodeConfig | undefined> {
  const path = join(dataDir, NODE_CONFIG_FILE);
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return validate(null, path);
  }
  return validate(parsed, path);
}

export async function saveNodeConfig(dataDir: string, config: NodeConfig): Promise<void> {
  await writeFileAtomic(join(dataDir, NODE_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
}

export function freshNodeConfig(namePrefix: string): NodeConfig {
  return {
    formatVersion: 1,
    namePrefix,
    nodeId: '',
    clusterId: '',
    role: 'none',
    joinAddrs: [],
    advertiseAddr: '',
    listenAddr: '',
  };
}
