/**
 * What a node may claim about itself. A heartbeat's description comes from the node and is
 * written to the replicated store, shown by `node ls`/`node inspect` and used for placement, so
 * every field is checked and bounded before it is believed: a worker cannot name itself with an
 * arbitrary string, claim a machine no one has, or grow the store with labels.
 */
import { TswarmError } from '../../lib/errors.js';
import { checkHostname } from '../../lib/hostname.js';
import type { NodeDescription } from '../../gen/tswarm/v1/objects.js';

/** Docker's os/architecture names are short words (linux, amd64, arm64…). */
export const PLATFORM_CHARS_MAX = 64;
export const ENGINE_VERSION_CHARS_MAX = 128;
/** Far beyond any machine today, low enough that sums over a cluster stay exact in a double. */
export const NANO_CPUS_MAX = 4096 * 1e9;
export const MEMORY_BYTES_MAX = 64 * 1024 ** 4;
/** Linux's pid_max cannot exceed 2^22. */
export const PIDS_MAX = 2 ** 22;
export const ENGINE_LABELS_MAX = 64;
export const LABEL_KEY_CHARS_MAX = 256;
export const LABEL_VALUE_CHARS_MAX = 4096;

const invalid = (field: string, what: string) =>
  new TswarmError('INVALID_ARGUMENT', `heartbeat description: ${field} ${what}. Check the node's engine`);

/** Printable text of at most `max` characters (no control characters: they would reach terminals). */
function checkText(field: string, value: string, max: number): void {
  if (value.length > max) throw invalid(field, `is longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(field, 'contains control characters');
}

function checkAmount(field: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max)
    throw invalid(field, `is ${value}, outside 0 to ${max}`);
}

/** Refuses a description that breaks a rule, with INVALID_ARGUMENT naming the field. */
export function checkNodeDescription(d: NodeDescription): void {
  checkHostname('heartbeat description: hostname', d.hostname);
  checkText('platform.os', d.platform?.os ?? '', PLATFORM_CHARS_MAX);
  checkText('platform.architecture', d.platform?.architecture ?? '', PLATFORM_CHARS_MAX);
  checkText('engineVersion', d.engineVersion, ENGINE_VERSION_CHARS_MAX);
  checkAmount('resources.nanoCpus', d.resources?.nanoCpus ?? 0, NANO_CPUS_MAX);
  checkAmount('resources.memoryBytes', d.resources?.memoryBytes ?? 0, MEMORY_BYTES_MAX);
  checkAmount('resources.pids', d.resources?.pids ?? 0, PIDS_MAX);
  const labels = Object.entries(d.engineLabels);
  if (labels.length > ENGINE_LABELS_MAX)
    throw invalid('engineLabels', `has ${labels.length} labels, more than ${ENGINE_LABELS_MAX}`);
  for (const [key, value] of labels) {
    if (key === '') throw invalid('engineLabels', 'has an empty key');
    checkText(`engineLabels key "${key.slice(0, 32)}"`, key, LABEL_KEY_CHARS_MAX);
    checkText(`engineLabels["${key.slice(0, 32)}"]`, value, LABEL_VALUE_CHARS_MAX);
  }
}

/**
 * A node's description may change (a renamed host, a resized VM, new labels), but each change is
 * a Raft write replicated to every manager: a node alternating descriptions would otherwise force
 * one per beat. A changed description is written at most once per `intervalMs` per node; the
 * beats between are answered and their description is taken at the next allowed write.
 */
export const DESCRIPTION_WRITE_INTERVAL_MS = 10_000;

export class DescriptionWriteLimiter {
  private lastWriteMs = new Map<string, number>();

  constructor(private readonly intervalMs = DESCRIPTION_WRITE_INTERVAL_MS) {}

  /** Whether `nodeId` may have its description written now; if so, the write is recorded. */
  tryWrite(nodeId: string, nowMs: number): boolean {
    const last = this.lastWriteMs.get(nodeId);
    if (last !== undefined && nowMs - last < this.intervalMs) return false;
    this.lastWriteMs.set(nodeId, nowMs);
    this.forgetExpired(nowMs);
    return true;
  }

  /** Only writes within the interval matter: the map never holds more than the nodes written lately. */
  private forgetExpired(nowMs: number): void {
    for (const [id, ms] of this.lastWriteMs) if (nowMs - ms >= this.intervalMs) this.lastWriteMs.delete(id);
  }

  size(): number {
    return this.lastWriteMs.size;
  }
}
