import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import { HealthMonitor, type HealthLogEntry } from './health.js';
import { healthArgv } from './process.js';
import type { ContainerRecord, HealthStatus } from './record.js';
import type { ExecResult } from './runtime-types.js';

/**
 * The running containers' health checks: one HealthMonitor per container with a healthcheck,
 * started with the container (or its adoption) and stopped when it exits or is removed.
 */
export class HealthMonitors {
  private readonly monitors = new Map<string, HealthMonitor>();

  constructor(
    private readonly d: {
      clock: Clock;
      log: Logger;
      /** Runs the check's command in the container. */
      exec: (id: string, argv: readonly string[], timeoutMs: number) => Promise<ExecResult>;
      /** Saves the record after a health change (under the container's lock). */
      save: (record: ContainerRecord) => Promise<void>;
      /** Told of each change of a container's health (healthy ↔ unhealthy), after the record has it. */
      changed?: (record: ContainerRecord, status: HealthStatus) => void;
    },
  ) {}

  start(record: ContainerRecord): void {
    if (!record.health || this.monitors.has(record.id)) return;
    const argv = healthArgv(record.health.test);
    const monitor = new HealthMonitor({
      clock: this.d.clock,
      config: record.health,
      startedAtMs: record.state.startedAtMs,
      probe: async (timeoutMs) => {
        const r = await this.d.exec(record.id, argv, timeoutMs);
        return { exitCode: r.exitCode, output: r.stdout.toString('utf8') + r.stderr.toString('utf8') };
      },
      onChange: (status) => {
        record.state.health = status;
        this.d.log.info({ container: record.id, health: status }, 'container health changed');
        this.d.changed?.(record, status);
        void this.d.save(record).catch((err: unknown) => this.d.log.warn({ err }, 'saving health failed'));
      },
    });
    this.monitors.set(record.id, monitor);
    monitor.start();
  }

  stop(id: string): void {
    this.monitors.get(id)?.stop();
    this.monitors.delete(id);
  }

  stopAll(): void {
    for (const monitor of this.monitors.values()) monitor.stop();
    this.monitors.clear();
  }

  /** The container's recent check results, oldest first. */
  logOf(id: string): HealthLogEntry[] {
    return [...(this.monitors.get(id)?.log ?? [])];
  }
}
