import type { EngineApi } from './engine-api.js';
import type { HostRss } from './rss.js';

/** A 3-manager + 3-worker cluster under benchmark, tswarm or Docker Swarm, driven through the Engine API. */
export interface BenchCluster {
  /** "tswarm" or "Docker Swarm", as the report names it. */
  readonly label: string;
  /** The image every host already holds, as services name it. */
  readonly image: string;
  /** The first manager's daemon: the leader the cluster formed under (a killed leader's successor may lead later). */
  readonly leader: EngineApi;
  /** Every host's daemon, by host name (m1…m3, w1…w3). */
  readonly hosts: ReadonlyMap<string, EngineApi>;
  readonly managers: readonly string[];
  readonly workers: readonly string[];
  /** Node IDs by host name. */
  readonly nodeIds: ReadonlyMap<string, string>;
  /** SIGKILL of the host's daemon alone (its containers and their monitors keep running). */
  killDaemon(host: string): Promise<void>;
  /** Starts the host's daemon again; resolves once it answers on its socket. */
  startDaemon(host: string): Promise<void>;
  /** Resident memory of the host's engine: its daemon and helpers, not its containers (rss.ts). */
  engineRss(host: string): Promise<HostRss>;
  /** Ends every process the cluster started and removes everything it made. */
  down(): Promise<void>;
}
