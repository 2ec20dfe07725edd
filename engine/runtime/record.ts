import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/fsutil.js';
import type { ContainerConfig } from '../../gen/tswarm/v1/engine.js';
import type { HealthConfig } from '../../gen/tswarm/v1/objects.js';

export type ContainerStatus = 'created' | 'running' | 'exited';
export type HealthStatus = '' | 'starting' | 'healthy' | 'unhealthy';

/** What a container is doing, as persisted; mirrors the ContainerState message plus pids info. */
export interface RecordState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  pidsLimitHit: boolean;
  startedAtMs: number;
  finishedAtMs: number;
  health: HealthStatus;
  /** Why the container failed to start or why its end is unknown; "" otherwise. */
  error: string;
}

/**
 * Everything a restarted daemon needs to know about one container, in
 * `<engineRoot>/containers/<id>/container.json`, replaced atomically on every change.
 */
export interface ContainerRecord {
  id: string;
  name: string;
  /** The container's name in the OCI runtime and conmon: `<prefix>-<id>`. */
  runtimeName: string;
  createdAtMs: number;
  config: ContainerConfig;
  image: { id: string; reference: string; layerDirs: string[] };
  /** Resolved at create: what runs, how it stops and is checked. */
  argv: string[];
  stopSignal: string;
  stopGracePeriodMs: number;
  health: HealthConfig | undefined;
  cgroupsPath: string;
  /**
   * The netns the container joins: a path; null for the host's; RUNTIME_MADE_NETNS for one of its
   * own that the OCI runtime makes at each start (`none`).
   */
  netnsPath: string | null;
  /** Set by earlier versions, which pinned a `none` container's namespace themselves: removal deletes it. */
  netnsName: string | undefined;
  state: RecordState;
}

export const RECORD_FILE = 'container.json';

/**
 * ContainerRecord.netnsPath of a container with a loopback-only namespace the OCI runtime makes
 * each time it starts (crun and runc bring its lo up), which ends with the container.
 */
export const RUNTIME_MADE_NETNS = '';

export function recordPath(containerDir: string): string {
  return join(containerDir, RECORD_FILE);
}

export async function saveRecord(containerDir: string, record: ContainerRecord): Promise<void> {
  await writeFileAtomic(recordPath(containerDir), JSON.stringify(record, null, 1));
}

/** The record in `containerDir`, or undefined when the directory holds none (a crash in create). */
export async function loadRecord(containerDir: string): Promise<ContainerRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(containerDir), 'utf8')) as ContainerRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * A removed container's directory is renamed to this prefix and its ID, then deleted in the
 * background (create.ts, discardContainerFiles); one a crash left is deleted at the next start.
 */
export const REMOVED_DIR_PREFIX = '.removed-';

/** The containers' directories (one per container ID), without the removed ones still being deleted. */
export async function listContainerDirs(containersDir: string): Promise<string[]> {
  const entries = await readdir(containersDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

/** Directories of removed containers whose deletion a crash or a stop cut short. */
export async function listRemovedDirs(containersDir: string): Promise<string[]> {
  const entries = await readdir(containersDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && e.name.startsWith(REMOVED_DIR_PREFIX)).map((e) => e.name);
}

export function initialState(): RecordState {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    oomKilled: false,
    pidsLimitHit: false,
    startedAtMs: 0,
    finishedAtMs: 0,
    health: '',
    error: '',
  };
}
