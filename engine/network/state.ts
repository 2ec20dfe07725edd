import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/fsutil.js';
import { TswarmError } from '../../lib/errors.js';
import type { PublishedPort } from '../../gen/tswarm/v1/engine.js';
import type { NetworkMode } from '../network-contract.js';

/** What attach made for one container: enough to undo it, or to re-program it after a restart. */
export interface NetworkRecord {
  mode: NetworkMode;
  /** The namespace's name under /run/netns; undefined in host mode. */
  netnsName: string | undefined;
  /** Bridge mode: the address lease (the IPAM's allocation) and the host-side veth. */
  ip: string | undefined;
  veth: string | undefined;
  ports: PublishedPort[];
}

/**
 * The node's networking state, one JSON file replaced atomically on every change: the IPAM's
 * leases are the `ip` fields of the records, so an allocation and the record that owns it are
 * never out of step, and a crash leaves the state before or after a change, never between.
 */
export interface NetworkState {
  formatVersion: 1;
  subnet: string;
  /** The offset of the last address handed out; the next search starts after it. */
  lastOffset: number;
  containers: Record<string, NetworkRecord>;
}

const FILE_NAME = 'network.json';

export function emptyState(subnet: string): NetworkState {
  return { formatVersion: 1, subnet, lastOffset: 0, containers: {} };
}

export async function loadState(stateDir: string, subnet: string): Promise<NetworkState> {
  const path = join(stateDir, FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(subnet);
    throw err;
  }
  const state = JSON.parse(text) as NetworkState;
  if (state.formatVersion !== 1 || typeof state.containers !== 'object') {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `${path} is not a network state file this version understands. Move it aside and restart`,
    );
  }
  const leases = Object.values(state.containers).some((r) => r.ip !== undefined);
  if (state.subnet !== subnet && !leases) return { ...emptyState(subnet), containers: state.containers };
  if (state.subnet !== subnet) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `the bridge subnet changed from ${state.subnet} to ${subnet} while containers hold addresses in the old one. Remove those containers first, or keep ${state.subnet}`,
    );
  }
  return state;
}

export async function saveState(stateDir: string, state: NetworkState): Promise<void> {
  await writeFileAtomic(join(stateDir, FILE_NAME), JSON.stringify(state, null, 1));
}

export function leasedAddresses(state: NetworkState): Set<string> {
  return new Set(Object.values(state.containers).flatMap((r) => (r.ip ? [r.ip] : [])));
}
