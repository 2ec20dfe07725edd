import { join } from 'node:path';
import { TswarmError } from '../lib/errors.js';
import { readFileIfExists, writeFileAtomic } from '../lib/fsutil.js';
import { isId } from '../lib/ids.js';
import type { Logger } from '../lib/log.js';
import { KNOWN_MANAGERS_MAX, type ManagerPeer } from './known-managers.js';

/**
 * managers.json in the data dir: the managers this node last knew, each with its node ID, the one
 * it last used first. A restarted daemon starts its heartbeats and session from it — not only from
 * the address it joined through, which may be down by then — and expects those node IDs at those
 * addresses when it dials (lib/manager-identity.ts).
 */
export const MANAGERS_FILE = 'managers.json';

interface ManagersFileContent {
  formatVersion: 1;
  /** The cluster the list belongs to: a file left by another membership is not believed. */
  clusterId: string;
  managers: ManagerPeer[];
}

const ADDR_PATTERN = /^[^\s:]{1,253}:(\d{1,5})$/;

function validAddr(addr: unknown): addr is string {
  if (typeof addr !== 'string') return false;
  const port = ADDR_PATTERN.exec(addr)?.[1];
  return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
}

/** The managers a file's text lists for `clusterId`; throws a TswarmError saying what is wrong. */
export function parseManagersFile(text: string, clusterId: string): ManagerPeer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TswarmError('FAILED_PRECONDITION', 'it is not JSON');
  }
  const v = parsed as Partial<ManagersFileContent> | null;
  if (v === null || typeof v !== 'object' || v.formatVersion !== 1 || !Array.isArray(v.managers))
    throw new TswarmError('FAILED_PRECONDITION', 'it is not a tswarm managers file (format version 1)');
  if (v.clusterId !== clusterId)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `it lists the managers of cluster ${String(v.clusterId)}, not ${clusterId}`,
    );
  const managers = v.managers as unknown[];
  if (managers.length > KNOWN_MANAGERS_MAX)
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `it lists ${managers.length} managers, more than ${KNOWN_MANAGERS_MAX}`,
    );
  return managers.map((m, i) => {
    const peer = m as Partial<ManagerPeer> | null;
    if (peer === null || typeof peer !== 'object' || typeof peer.nodeId !== 'string' || !isId(peer.nodeId))
      throw new TswarmError('FAILED_PRECONDITION', `manager ${i + 1} has no valid node ID`);
    if (!validAddr(peer.addr))
      throw new TswarmError('FAILED_PRECONDITION', `manager ${i + 1} has no valid HOST:PORT address`);
    return { nodeId: peer.nodeId, addr: peer.addr };
  });
}

export function formatManagersFile(clusterId: string, managers: readonly ManagerPeer[]): string {
  const content: ManagersFileContent = { formatVersion: 1, clusterId, managers: [...managers] };
  return JSON.stringify(content, null, 2) + '\n';
}

/**
 * The managers a previous run of this node knew, or [] when there is no usable file. Never throws:
 * a missing, unreadable or corrupt file costs only the failover it would have given (the node then
 * starts from its join addresses), which is no reason to keep the daemon from starting.
 */
export async function loadKnownManagers(dataDir: string, clusterId: string, log: Logger): Promise<ManagerPeer[]> {
  const path = join(dataDir, MANAGERS_FILE);
  try {
    const text = await readFileIfExists(path);
    if (text === undefined) return [];
    return parseManagersFile(text, clusterId);
  } catch (err) {
    log.warn(
      { file: path, err: (err as Error).message },
      'the list of known managers cannot be used; starting from the join address instead (the file is rewritten after the first heartbeat answer)',
    );
    return [];
  }
}

/**
 * Writes managers.json when the list changes: atomically (temp file, fsync, rename, fsync of the
 * directory, lib/fsutil.ts), one write at a time, and only the newest list when several changes
 * came during a write. A failed write is logged and the node goes on: the file only speeds up a
 * restart.
 */
export class ManagersFileWriter {
  private written: string;
  private pending: string | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly clusterId: string,
    private readonly log: Logger,
    /** What the file holds now (as loaded), so an unchanged list is not written again. */
    onDisk: readonly ManagerPeer[] = [],
  ) {
    this.written = formatManagersFile(clusterId, onDisk);
  }

  save(managers: readonly ManagerPeer[]): void {
    if (this.closed) return;
    const text = formatManagersFile(this.clusterId, managers);
    if (text === (this.pending ?? this.written)) return;
    this.pending = text;
    this.kick();
  }

  private kick(): void {
    if (this.writing || this.pending === undefined) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      // A list that came after the loop's last look: written now.
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const text = this.pending;
      this.pending = undefined;
      if (text === this.written) continue;
      try {
        await writeFileAtomic(join(this.dataDir, MANAGERS_FILE), text);
        this.written = text;
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          'could not write the list of known managers; a restart will start from the join address',
        );
      }
    }
  }

  /** Resolves once every list saved so far is on disk (or its write failed and was logged). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** No more writes; resolves once the one under way (if any) is done, so the file can be deleted after. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    await this.writing;
  }
}
