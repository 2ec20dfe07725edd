import { TswarmError } from '../../lib/errors.js';
import type { ContainerRecord } from './record.js';

/**
 * The runtime's containers by ID, and the views it needs of them: the fully created ones, the
 * running ones, and one found by a reference (ID, name or unique ID prefix).
 */
export class ContainerRecords extends Map<string, ContainerRecord> {
  running(): ContainerRecord[] {
    return this.ready().filter((r) => r.state.status === 'running');
  }

  runningNames(): string[] {
    return this.running().map((r) => r.runtimeName);
  }

  /** Records fully created (not a create still in progress). */
  ready(): ContainerRecord[] {
    return [...this.values()].filter((r) => r.runtimeName !== undefined);
  }

  /** By full ID, name or unique ID prefix, as Docker resolves a container reference. */
  resolve(ref: string): ContainerRecord {
    const all = this.ready();
    const exact = all.find((r) => r.id === ref || r.name === ref);
    if (exact) return exact;
    const byPrefix = ref.length > 0 ? all.filter((r) => r.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1)
      throw new TswarmError('INVALID_ARGUMENT', `"${ref}" matches ${byPrefix.length} containers. Give more of the ID`);
    throw new TswarmError('NOT_FOUND', `no such container: ${ref}`);
  }
}
