import type { ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { ContainerRecord } from './record.js';

/** A container as `list` and `inspect` show it, from its record. */
export function containerSummary(r: ContainerRecord): ContainerSummary {
  const s = r.state;
  return {
    id: r.id,
    name: r.name,
    image: r.image.reference,
    command: r.argv,
    createdAtMs: r.createdAtMs,
    state: {
      status: s.status,
      pid: s.pid,
      exitCode: s.exitCode,
      oomKilled: s.oomKilled,
      startedAtMs: s.startedAtMs,
      finishedAtMs: s.finishedAtMs,
      health: s.health,
      error: s.error,
    },
    ports: r.config.ports,
    labels: r.config.spec?.labels ?? {},
  };
}
