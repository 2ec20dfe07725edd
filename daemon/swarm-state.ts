import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../lib/fsutil.js';
import { FORCE_NEW_CLUSTER_BACKUP_INFIX } from '../manager/raft/node/force-new-cluster.js';
import { listCertificateFiles, removeCertificates } from '../worker/certificates.js';
import { MANAGERS_FILE } from '../worker/managers-file.js';

export const RAFT_DIR = 'raft';

/**
 * What a swarm membership leaves in the data dir, as the data dir's own names: the Raft data
 * (`raft/`, and the directories `init --force-new-cluster` set aside), which holds the cluster's
 * root CA key and join tokens, the managers the node knew (managers.json), and this node's key
 * and certificates.
 */
export async function swarmStateIn(dataDir: string): Promise<string[]> {
  const own = (await readdir(dataDir)).filter(
    (name) => name === RAFT_DIR || name.startsWith(RAFT_DIR + FORCE_NEW_CLUSTER_BACKUP_INFIX) || name === MANAGERS_FILE,
  );
  const certificates = (await listCertificateFiles(dataDir)).map((f) => `certificates/${f}`);
  return [...own.sort(), ...certificates];
}

/**
 * Deletes every trace of a swarm membership (swarmStateIn), as Docker's leave does with its swarm
 * directory; the engine's containers, images and volumes stay. Returns what it deleted.
 */
export async function clearSwarmState(dataDir: string): Promise<string[]> {
  const found = await swarmStateIn(dataDir);
  if (found.length === 0) return found;
  for (const name of found) {
    if (!name.startsWith('certificates/')) await rm(join(dataDir, name), { recursive: true, force: true });
  }
  await removeCertificates(dataDir);
  // The removals must survive a crash as much as the writes they undo did.
  await fsyncDir(dataDir);
  return found;
}
