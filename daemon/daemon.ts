import { hostname as osHostname } from 'node:os';
import type { Logger } from '../lib/log.js';
import { unixSocketPath } from '../lib/daemon-host.js';
import { Swarm } from './swarm.js';
import { Engine } from '../engine/engine.js';
import { LocalVolumeProvider } from '../engine/volume/local-provider.js';
import { NodeNetworking } from '../engine/network/node-networking.js';
import { join } from 'node:path';
import { openDataDir, type OpenedDataDir } from './data-dir.js';
import { LocalSocket } from './local-socket.js';
import { createApiServer } from './api/server.js';
import { Router } from './api/router.js';
import { apiRoutes } from './api/routes.js';
import { tswarmVersion } from '../lib/version.js';
import { readCaBundle } from '../engine/image/registry/registry-options.js';
import type { EngineEvents } from '../engine/engine.js';
import { EventBus } from './events/bus.js';
import { SwarmEventFeed } from './events/swarm-feed.js';

export interface DaemonOptions {
  dataDir: string;
  host: string;
  hostname?: string;
  logLevel: string;
  insecureRegistries?: string[];
  caBundlePath?: string;
  runtime?: 'crun' | 'runc';
  /** `--label K=V`, checked (daemon/engine-labels.ts): reported in this node's description. */
  engineLabels?: Record<string, string>;
}

/** How long in-flight local calls may take to finish on shutdown before they are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * tswarmd: composes the parts of one node. For now the node-local API; the engine, the worker
 * agent and (on managers) the control plane attach here as they land.
 */
export class Daemon {
  private socket: LocalSocket | undefined;
  private dataDir: OpenedDataDir | undefined;
  private socketPath = '';
  private stopping: Promise<void> | undefined;
  private swarm: Swarm | undefined;
  private engine: Engine | undefined;
  /** What the node does, for `GET /events`: its engine's doings and, on a manager, the swarm's changes. */
  private readonly events = new EventBus();
  private readonly swarmEvents: SwarmEventFeed;

  constructor(
    private readonly options: DaemonOptions,
    private readonly log: Logger,
  ) {
    this.swarmEvents = new SwarmEventFeed(this.events, log.child({ part: 'events' }));
  }

  async start(): Promise<void> {
    this.socketPath = unixSocketPath(this.options.host);
    this.dataDir = await openDataDir(this.options.dataDir);
    const dataDir = this.dataDir;
    // A daemon works from its own directory, never from wherever it was launched, so no tool it
    // runs can write into the launching shell's directory.
    process.chdir(dataDir.path);
    try {
      const hostname = this.options.hostname ?? osHostname();
      const engineRoot = join(dataDir.path, 'engine');
      // A wrong --registry-ca stops the start here, named, rather than failing every pull later.
      if (this.options.caBundlePath) await readCaBundle(this.options.caBundlePath);
      const engineEvents: EngineEvents = (e) => void this.events.log(e.type, e.action, e.id, e.attributes);
      this.engine = await Engine.open({
        dataDir: dataDir.path,
        namePrefix: dataDir.node.namePrefix,
        runtime: this.options.runtime ?? 'crun',
        insecureRegistries: this.options.insecureRegistries ?? [],
        ...(this.options.caBundlePath ? { caBundlePath: this.options.caBundlePath } : {}),
        networking: await NodeNetworking.open({
          namePrefix: dataDir.node.namePrefix,
          stateDir: join(engineRoot, 'network'),
          log: this.log.child({ part: 'network' }),
        }),
        volumes: await LocalVolumeProvider.open(engineRoot, engineEvents),
        log: this.log.child({ part: 'engine' }),
        events: engineEvents,
      });
      const swarm = new Swarm({
        dataDir: dataDir.path,
        hostname,
        engineLabels: this.options.engineLabels ?? {},
        log: this.log,
        node: dataDir.node,
        engine: this.engine,
        onManagerChange: (manager) => this.swarmEvents.follow(manager),
      });
      this.swarm = swarm;
      // A member picks up where it left off (a restart after kill -9 included) before serving.
      await swarm.resume();
      const router = new Router(
        apiRoutes({
          hostname,
          dataDir: dataDir.path,
          startedAtMs: Date.now(),
          logLevel: this.options.logLevel,
          swarm,
          engine: this.engine,
          events: this.events,
        }),
      );
      const http = createApiServer(router, this.log.child({ part: 'api' }));
      this.socket = await LocalSocket.bind({
        socketPath: this.socketPath,
        http,
        log: this.log,
      });
      this.log.info(
        {
          version: tswarmVersion(),
          dataDir: dataDir.path,
          host: this.options.host,
          hostname,
          namePrefix: dataDir.node.namePrefix,
        },
        'tswarmd ready',
      );
    } catch (err) {
      this.closeEvents();
      await this.swarm?.stopParts();
      await this.engine?.close();
      await dataDir.lock.release();
      throw err;
    }
  }

  /** Stops serving, removes the socket and releases the data dir; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** Event streams end at once (they would hold the socket's graceful close open). */
  private closeEvents(): void {
    this.swarmEvents.close();
    this.events.close();
  }

  private async doStop(): Promise<void> {
    this.closeEvents();
    await this.swarm?.stopParts();
    await this.socket?.close(SHUTDOWN_GRACE_MS);
    await this.engine?.close();
    await this.dataDir?.lock.release();
    this.log.info('tswarmd stopped');
  }
}
