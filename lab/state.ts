import { readFile } from 'node:fs/promises';
import { TswarmError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fsutil.js';
import type { HostRole } from './plan.js';
import { labPaths } from './paths.js';

/**
 * The lab on disk, so any shell can drive it while it is up. Written before each thing is made,
 * so a lab that failed half-way (or a crashed `lab up`) is still torn down completely.
 */
export interface HostState {
  name: string;
  role: HostRole;
  addr: string;
  netns: string;
  dataDir: string;
  socket: string;
  logFile: string;
  /** The daemon's pid and kernel start time; 0/'' when never started. */
  pid: number;
  startTime: string;
  /** What the user asked for; a daemon that is not alive while 'running' is reported dead. */
  desired: 'running' | 'stopped';
  /** This host's engine labels (`tswarmd --label`), kept for its restarts; absent when none. */
  engineLabels?: Record<string, string>;
}

/**
 * The lab's registry host `reg` (lab/registry.ts): not a daemon host, so it is kept apart from
 * `hosts` (nothing that walks the daemons — swarm forming, stop/start, partitions — sees it).
 */
export interface RegistryState {
  name: string;
  addr: string;
  /** ADDR:PORT, what daemons and users pull from. */
  address: string;
  /** The test image, preloaded by `lab up`. */
  image: string;
  netns: string;
  dir: string;
  /** The registry's own log: one line per request (its access log). */
  logFile: string;
  /** The registry process's pid and kernel start time; 0/'' until it answered. */
  pid: number;
  startTime: string;
}

export interface LabState {
  formatVersion: 1;
  name: string;
  createdAtMs: number;
  /** 'creating' until `lab up` finished; teardown handles both. */
  phase: 'creating' | 'up';
  hosts: HostState[];
  partition: string[][] | null;
  /** Extra flags every host's tswarmd is started with (absent in labs made before they existed). */
  daemonArgs?: string[];
  /** The lab registry, when the lab was brought up with one. */
  registry?: RegistryState;
}

export async function loadLabState(lab: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(labPaths.state(lab), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.formatVersion !== 1 || !Array.isArray(state.hosts)) throw new Error('unknown format');
    return state;
  } catch {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `the state of lab "${lab}" (${labPaths.state(lab)}) is unreadable. Run \`tswarm lab prune\` to remove what that lab left behind`,
    );
  }
}

export async function saveLabState(state: LabState): Promise<void> {
  await writeFileAtomic(labPaths.state(state.name), JSON.stringify(state, null, 2) + '\n', 0o644);
}

export async function requireLabState(lab: string): Promise<LabState> {
  const state = await loadLabState(lab);
  if (!state)
    throw new TswarmError(
      'NOT_FOUND',
      `lab "${lab}" is not up. Start it with \`tswarm lab up${lab === 'lab' ? '' : ` --name ${lab}`}\``,
    );
  return state;
}

export function findHost(state: LabState, host: string): HostState {
  const found = state.hosts.find((h) => h.name === host);
  if (!found) {
    throw new TswarmError(
      'NOT_FOUND',
      `lab "${state.name}" has no host "${host}". Its hosts are: ${state.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  return found;
}
