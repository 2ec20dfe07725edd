import type { ContainerStats } from '../../gen/tswarm/v1/engine.js';
import type { ContainerRuntime } from '../runtime/runtime.js';

/** The cgroup counters of the named containers, or of every running one when none is named. */
export async function readStats(runtime: ContainerRuntime, refs: readonly string[]): Promise<ContainerStats[]> {
  const one = async (ref: string): Promise<ContainerStats> => {
    const { id, name, usage } = await runtime.stats(ref);
    return { id, name, ...usage, readAtMs: Date.now() };
  };
  if (refs.length > 0) return Promise.all(refs.map(one));
  // Every running one: a container that stops between the list and its read is left out.
  const settled = await Promise.allSettled(runtime.list().map((c) => one(c.id)));
  return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}
