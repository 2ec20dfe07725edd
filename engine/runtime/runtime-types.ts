import type { Logger } from '../../lib/log.js';
import type { Clock } from '../../lib/clock.js';
import type { ContainerConfig, ContainerSummary } from '../../gen/tswarm/v1/engine.js';
import type { RuntimeName } from './probe.js';
import type { HealthLogEntry } from './health.js';

/** What ContainerRuntime takes and gives besides containers' own types: its options and results. */

export interface RuntimeOptions {
  /** The engine's directory, e.g. <data-dir>/engine. */
  root: string;
  /** The daemon's short name prefix (lower-case letters and digits), on everything it creates. */
  namePrefix: string;
  runtime?: RuntimeName;
  log: Logger;
  clock?: Clock;
  /** conmon's cap on a container's log file. */
  logBytesMax?: number;
  /** Told of what happens to each container (the engine makes Docker's events of it). */
  onEvent?: (event: ContainerEvent) => void;
}

/**
 * Something that happened to a container, as the runtime saw it: Docker's action word (`create`,
 * `start`, `kill`, `oom`, `die`, `stop`, `destroy`, `health_status: healthy`), the container as
 * its record names it, and what the action adds (a kill's signal, a die's exit code).
 */
export interface ContainerEvent {
  action: string;
  id: string;
  name: string;
  /** The image as the container was asked for it (Docker's `Config.Image`). */
  image: string;
  labels: Record<string, string>;
  attributes: Record<string, string>;
}

export interface ExecResult {
  /** -1 when the command was killed at its deadline or could not run. */
  exitCode: number;
  /** As the command wrote them: bytes, not text. */
  stdout: Buffer;
  stderr: Buffer;
  /** Output past the bound was dropped. */
  truncated: boolean;
}

export interface WaitResult {
  exitCode: number;
  oomKilled: boolean;
  pidsLimitHit: boolean;
}

export interface ContainerInspect {
  container: ContainerSummary;
  config: ContainerConfig;
  rootfs: string;
  logPath: string;
  pidsLimitHit: boolean;
  healthLog: HealthLogEntry[];
}

/** What a commit reads of a container: its changes (overlay upper dir) and what it was made from. */
export interface CommitSource {
  id: string;
  name: string;
  imageId: string;
  argv: string[];
  /** The container's own settings (command, environment, working dir, user) over its image's. */
  config: ContainerConfig;
  upperDir: string;
}
