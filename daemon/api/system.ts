import { arch, cpus, release, totalmem } from 'node:os';
import { tswarmVersion } from '../../lib/version.js';
import type { Route } from './router.js';
import type { ApiContext } from './routes.js';
import { API_VERSION_MAX, API_VERSION_MIN } from './versions.js';
import { dockerSwarmInfo, isoTime, localNodeStateName } from './swarm-shapes.js';
import { systemDfRoute } from './system-df.js';

/** Docker's architecture names (Go's GOARCH), which clients compare with image platforms. */
function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

/** `Swarm: inactive` or `active/manager`, as dockerd answers `/_ping` (API 1.46+ clients read it). */
function swarmHeader(ctx: ApiContext): string {
  const info = ctx.swarm.info();
  const state = localNodeStateName(info.localNodeState);
  if (state !== 'active') return state;
  return `active/${info.controlAvailable ? 'manager' : 'worker'}`;
}

export function versionBody(): Record<string, unknown> {
  const version = tswarmVersion();
  const details = { ApiVersion: API_VERSION_MAX, MinAPIVersion: API_VERSION_MIN, Os: 'linux', Arch: goArch() };
  return {
    Platform: { Name: `tswarm ${version}` },
    Components: [
      {
        Name: 'Engine',
        Version: version,
        Details: { ...details, KernelVersion: release(), NodeVersion: process.version },
      },
    ],
    Version: version,
    ApiVersion: API_VERSION_MAX,
    MinAPIVersion: API_VERSION_MIN,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

async function infoBody(ctx: ApiContext): Promise<Record<string, unknown>> {
  const engine = await ctx.engine.summary();
  const swarm = ctx.swarm.info();
  const [runtimeName = 'crun'] = engine.runtime.split(' ');
  return {
    ID: ctx.swarm.node.nodeId || ctx.swarm.node.namePrefix,
    Containers: engine.containers,
    ContainersRunning: engine.containersRunning,
    ContainersPaused: 0,
    ContainersStopped: engine.containers - engine.containersRunning,
    Images: engine.images,
    Driver: 'overlay',
    DriverStatus: [],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['k8s-file'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: isoTime(Date.now()),
    LoggingDriver: 'k8s-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: engine.cgroupLayout.startsWith('v2') ? '2' : '1',
    // The open `GET /events` streams, as dockerd counts its event listeners.
    NEventsListener: ctx.events.subscriberCount,
    KernelVersion: release(),
    OperatingSystem: 'tswarm',
    OSVersion: '',
    OSType: 'linux',
    Architecture: arch() === 'x64' ? 'x86_64' : arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: ctx.dataDir,
    Name: ctx.hostname,
    Labels: [`tswarm.name-prefix=${ctx.swarm.node.namePrefix}`],
    ExperimentalBuild: false,
    ServerVersion: tswarmVersion(),
    Runtimes: { [runtimeName]: { path: runtimeName } },
    DefaultRuntime: runtimeName,
    Swarm: dockerSwarmInfo(swarm, ctx.swarm.localManager?.cluster(), ctx.swarm.remoteManagers()),
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'catatonit',
    SecurityOptions: ['name=seccomp,profile=builtin'],
    Warnings: engine.warnings,
  };
}

/** `/_ping`, `/version` and `/info`: what every client asks first; and `/system/df`. */
export function systemRoutes(ctx: ApiContext): Route[] {
  const ping: Route['handler'] = async (_req, reply) =>
    reply.text(200, 'OK', {
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Swarm: swarmHeader(ctx),
    });
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: async (_req, reply) => reply.json(200, versionBody()) },
    { method: 'GET', path: '/info', handler: async (_req, reply) => reply.json(200, await infoBody(ctx)) },
    systemDfRoute(ctx),
  ];
}
