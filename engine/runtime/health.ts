import type { Clock, Timer } from '../../lib/clock.js';
import type { HealthConfig } from '../../gen/tswarm/v1/objects.js';
import type { HealthStatus } from './record.js';

export interface HealthProbeResult {
  /** The check's exit code; -1 when it timed out or could not run. */
  exitCode: number;
  output: string;
}

export interface HealthLogEntry {
  startMs: number;
  endMs: number;
  exitCode: number;
  output: string;
}

export interface HealthMonitorOptions {
  clock: Clock;
  config: HealthConfig;
  /** When the container started: the start period counts from here. */
  startedAtMs: number;
  /** Runs the check once; should itself give up near timeoutMs (the monitor stops waiting then). */
  probe: (timeoutMs: number) => Promise<HealthProbeResult>;
  onChange: (status: HealthStatus) => void;
}

/** Docker keeps the last 5 results and 4 KiB of each one's output. */
const LOG_ENTRIES_MAX = 5;
const OUTPUT_BYTES_MAX = 4096;

/**
 * Docker's health check state machine, timed by an injected Clock: a check every interval (the
 * first one interval after start), one at a time; a pass makes the container healthy; `retries`
 * failures in a row make it unhealthy; failures inside the start period do not count while it is
 * still starting.
 */
export class HealthMonitor {
  status: HealthStatus = 'starting';
  failingStreak = 0;
  readonly log: HealthLogEntry[] = [];
  private timer: Timer | undefined;
  private inFlight = false;
  private stopped = false;

  constructor(private readonly o: HealthMonitorOptions) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(this.o.config.intervalMs, () => void this.runOnce());
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    // A check that outlived its timeout is still running: never start a second one beside it.
    if (this.inFlight) return this.schedule();
    this.inFlight = true;
    const startMs = this.o.clock.nowMs();
    let timeoutTimer: Timer | undefined;
    const timedOut = new Promise<HealthProbeResult>((resolve) => {
      timeoutTimer = this.o.clock.setTimer(this.o.config.timeoutMs, () =>
        resolve({ exitCode: -1, output: `health check timed out after ${this.o.config.timeoutMs} ms` }),
      );
    });
    const probing = this.o
      .probe(this.o.config.timeoutMs)
      .catch((err: unknown) => ({ exitCode: -1, output: err instanceof Error ? err.message : String(err) }))
      .finally(() => (this.inFlight = false));
    const result = await Promise.race([probing, timedOut]);
    timeoutTimer?.cancel();
    if (this.stopped) return;
    this.record(startMs, result);
    this.schedule();
  }

  private record(startMs: number, result: HealthProbeResult): void {
    const endMs = this.o.clock.nowMs();
    this.log.push({ startMs, endMs, exitCode: result.exitCode, output: result.output.slice(0, OUTPUT_BYTES_MAX) });
    if (this.log.length > LOG_ENTRIES_MAX) this.log.shift();
    if (result.exitCode === 0) {
      this.failingStreak = 0;
      return this.set('healthy');
    }
    const inStartPeriod = this.status === 'starting' && endMs - this.o.startedAtMs < this.o.config.startPeriodMs;
    if (inStartPeriod) return;
    this.failingStreak += 1;
    if (this.failingStreak >= this.o.config.retries) this.set('unhealthy');
  }

  private set(status: HealthStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.o.onChange(status);
  }
}
